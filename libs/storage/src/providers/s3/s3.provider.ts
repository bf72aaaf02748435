import { addAbortSignal, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  type ServerSideEncryption,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Injectable } from '@nestjs/common';
import type {
  BodySource,
  ByteRange,
  GetOptions,
  GetResult,
  ListOptions,
  ListPage,
  ObjectInfo,
  PresignDownloadOptions,
  PresignedRequest,
  PresignUploadOptions,
  ProviderCapabilities,
  ProviderContext,
  PutOptions,
  PutResult,
  ResolvedRange,
} from '../../contract/index.js';
import { DeclaredBodyGuard, StorageProvider, StorageProviderType } from '../../contract/index.js';
import { InvalidArgumentError, ProviderUnavailableError, RangeNotSatisfiableError, StorageError, TimeoutError } from '../../errors/index.js';
import { contentDisposition } from '../../http/content-headers.js';
import { resolveRange, toReadable } from '../../streams/index.js';
import { parseSize } from '../../config/size.js';
import { S3_MAX_PARTS, S3ProviderConfig } from './s3.config.js';
import { s3StatusOf, toStorageError, type S3ErrorContext } from './s3.errors.js';

/** SigV4 presigned URLs live at most seven days. */
export const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

export interface PresignPostOptions {
  expiresIn: number;
  contentType: string;
  /** Largest body the form may carry (policy `content-length-range`). */
  maxSize: number;
  /** Smallest body. Default 0. */
  minSize?: number;
}

const blank = (value: string | undefined) => (value === undefined || value === '' ? undefined : value);

function rangeHeader(range: ByteRange): string {
  if ('suffix' in range) return `bytes=-${range.suffix}`;
  return `bytes=${range.start}-${range.end ?? ''}`;
}

/** `bytes a-b/total` from a 206 answer. */
function parseContentRange(header: string | undefined): ResolvedRange | undefined {
  const match = header ? /^bytes (\d+)-(\d+)\/(\d+)$/.exec(header.trim()) : null;
  return match ? { start: Number(match[1]), end: Number(match[2]), total: Number(match[3]) } : undefined;
}

interface ObjectHeaders {
  ContentLength?: number;
  ContentType?: string;
  Metadata?: Record<string, string>;
  LastModified?: Date;
  ETag?: string;
  CacheControl?: string;
}

function infoOf(key: string, headers: ObjectHeaders, size = headers.ContentLength ?? 0): ObjectInfo {
  return {
    key,
    size,
    contentType: headers.ContentType ?? 'application/octet-stream',
    metadata: { ...(headers.Metadata ?? {}) },
    lastModified: headers.LastModified ?? new Date(0),
    etag: headers.ETag,
    cacheControl: headers.CacheControl,
  };
}

/**
 * The part size of a multipart upload: the configured one, raised when a declared length would
 * not fit in S3's 10,000 parts. Undefined leaves the choice to lib-storage, which does the same
 * from its 5 MiB minimum.
 */
export function partSizeFor(configured: number | undefined, contentLength: number | undefined): number | undefined {
  if (configured === undefined) return undefined;
  return Math.max(configured, Math.ceil((contentLength ?? 0) / S3_MAX_PARTS));
}

/**
 * Amazon S3 and S3-compatible stores, on the AWS SDK v3. Uploads stream through lib-storage: one
 * PutObject for bodies under a part, multipart above or when the length is unknown, holding about
 * 2 x queue_size x part_size bytes (lib-storage copies each part into one buffer). A failed or
 * aborted upload aborts its multipart upload, so nothing is left behind and an existing object is
 * untouched.
 */
@Injectable()
@StorageProviderType('s3', { config: S3ProviderConfig })
export class S3StorageProvider extends StorageProvider<S3ProviderConfig> {
  readonly capabilities: ProviderCapabilities = {
    rangeRead: true,
    suffixRange: true,
    list: true,
    copy: true,
    userMetadata: true,
    createOnly: true,
    presignDownload: true,
    presignUpload: true,
    presignUploadEnforcesContentType: true,
    presignEnforcesSignature: true,
    presignEnforcesExpiry: true,
    presignUploadEnforcesMaxSize: true,
    publicUrl: 'S3 objects are served through presigned URLs (buckets are private)',
  };

  /** The SDK client, for operations the provider contract does not cover. */
  client!: S3Client;
  /**
   * Presigning never adds flexible checksums: a checksum of the empty body would be signed into
   * the URL and every real upload through it would fail.
   */
  private presigner!: S3Client;
  private bucket!: string;
  /** `part_size` in bytes, when configured. */
  private partSize?: number;
  /** `queue_size`, when configured. */
  private queueSize?: number;

  override async initialize(context: ProviderContext<S3ProviderConfig>): Promise<void> {
    await super.initialize(context);
    const config = context.config;
    this.bucket = config.bucket;
    this.partSize = parseSize(config.part_size);
    this.queueSize = config.queue_size;
    const endpoint = blank(config.endpoint);
    const accessKeyId = blank(config.access_key_id);
    const checksumMode = blank(config.checksum_mode) ?? (endpoint ? 'when_required' : 'when_supported');
    const checksums = checksumMode === 'when_required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED';
    const base: S3ClientConfig = {
      region: config.region,
      endpoint,
      forcePathStyle: config.force_path_style ?? false,
      // Without keys the SDK's default chain finds credentials (env, profile, web identity, roles).
      credentials: accessKeyId ? { accessKeyId, secretAccessKey: config.secret_access_key! } : undefined,
      requestHandler: { connectionTimeout: 10_000 },
    };
    this.client = new S3Client({ ...base, requestChecksumCalculation: checksums, responseChecksumValidation: checksums });
    this.presigner = new S3Client({ ...base, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
  }

  private fail(error: unknown, context: Omit<S3ErrorContext, 'bucket'>): never {
    throw toStorageError(error, { ...context, bucket: this.bucket });
  }

  /** Server-side encryption parameters of every write (PutObject, CreateMultipartUpload, CopyObject). */
  private encryption(): { ServerSideEncryption?: ServerSideEncryption; SSEKMSKeyId?: string } {
    const sse = blank(this.config.sse);
    if (!sse) return {};
    return { ServerSideEncryption: sse as ServerSideEncryption, SSEKMSKeyId: sse === 'aws:kms' ? blank(this.config.kms_key_id) : undefined };
  }

  /** The same encryption as request headers, which a presigned PUT's client must send. */
  private encryptionHeaders(): Record<string, string> {
    const { ServerSideEncryption: sse, SSEKMSKeyId: kmsKey } = this.encryption();
    return {
      ...(sse ? { 'x-amz-server-side-encryption': sse } : {}),
      ...(kmsKey ? { 'x-amz-server-side-encryption-aws-kms-key-id': kmsKey } : {}),
    };
  }

  /**
   * The client as lib-storage sees it. The caller's signal goes on the requests that carry bytes;
   * CreateMultipartUpload runs to its end so that its upload id is known and the upload can be
   * aborted; AbortMultipartUpload is the cleanup itself; CompleteMultipartUpload runs to its end
   * because S3 may commit it even if the client gives up on the answer (put would then report a
   * failure for a stored object). A request that fails is reported to `failed`: lib-storage waits
   * for all its part uploaders, and those still reading a body that has gone quiet would wait
   * with them.
   */
  private clientFor(signal: AbortSignal | undefined, failed: (error: unknown) => void): S3Client {
    return new Proxy(this.client, {
      get(target, property, receiver) {
        if (property !== 'send') return Reflect.get(target, property, receiver);
        const send = target.send.bind(target) as (command: unknown, options?: { abortSignal?: AbortSignal }) => Promise<unknown>;
        return (command: unknown, options?: { abortSignal?: AbortSignal }) => {
          const runsToItsEnd =
            !signal ||
            command instanceof AbortMultipartUploadCommand ||
            command instanceof CreateMultipartUploadCommand ||
            command instanceof CompleteMultipartUploadCommand;
          const sent = runsToItsEnd ? send(command, options) : send(command, { ...options, abortSignal: signal });
          if (command instanceof AbortMultipartUploadCommand) return sent;
          return sent.catch((error: unknown) => {
            failed(error);
            throw error;
          });
        };
      },
    });
  }

  async put(key: string, body: BodySource, options: PutOptions): Promise<PutResult> {
    const { signal } = options;
    signal?.throwIfAborted();
    body = this.verifiedBody(body, options);
    if (body instanceof Uint8Array) this.assertDeclaredLength(body.byteLength, options);
    // A stream flows through a guard that counts it and holds it to its declared length (S3 would
    // wait for missing bytes, or store a short object); an abort or a failing source ends it:
    // then lib-storage stops, aborts the multipart upload, and only then rejects. lib-storage
    // reads a part whole before sending it, and the last part after the body ended, so a body
    // that fails at its end never completes an upload.
    let bodyError: unknown;
    let Body: Buffer | Uint8Array | Readable;
    let feeding: Promise<void> = Promise.resolve();
    let feed: DeclaredBodyGuard | undefined;
    if (body instanceof Uint8Array && !signal) {
      Body = body;
    } else {
      feed = new DeclaredBodyGuard({ declared: options.contentLength });
      Body = feed;
      feeding = pipeline(toReadable(body), feed, { signal }).catch((error: unknown) => {
        bodyError ??= error;
      });
    }
    let backendFailure: unknown;
    const upload = new Upload({
      // A failed request ends the body's feed, so that no part uploader waits on a quiet body.
      client: this.clientFor(signal, (error) => {
        backendFailure ??= error;
        feed?.destroy(error as Error);
      }),
      queueSize: this.queueSize,
      partSize: partSizeFor(this.partSize, options.contentLength),
      params: {
        Bucket: this.bucket,
        Key: key,
        Body,
        ContentType: options.contentType,
        ContentLength: options.contentLength,
        CacheControl: options.cacheControl,
        Metadata: options.metadata,
        // S3 refuses the write with 412 if the key exists (single PUT and CompleteMultipartUpload).
        IfNoneMatch: options.ifNotExists ? '*' : undefined,
        ...this.encryption(),
      },
    });
    try {
      const result = await upload.done();
      await feeding;
      return { key, size: feed ? feed.bytes : (body as Uint8Array).byteLength, etag: result.ETag };
    } catch (error) {
      // The feed also fails when a request failed (see clientFor): that is not the body's error.
      const fromBody = bodyError === backendFailure ? undefined : bodyError;
      feed?.destroy();
      await feeding;
      if (signal?.aborted) throw signal.reason;
      if (fromBody) throw fromBody;
      this.fail(error, { operation: 'upload', key });
    }
  }

  async get(key: string, options: GetOptions = {}): Promise<GetResult> {
    let output;
    try {
      output = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: options.range ? rangeHeader(options.range) : undefined }),
        { abortSignal: options.signal },
      );
    } catch (error) {
      const mapped = toStorageError(error, { operation: 'read', key, bucket: this.bucket });
      // A 416 carries no size; look it up so the error can say what range would be valid.
      if (mapped instanceof RangeNotSatisfiableError) throw new RangeNotSatisfiableError((await this.head(key)).size, { cause: error });
      throw mapped;
    }
    const body = output.Body as Readable;
    if (options.signal) addAbortSignal(options.signal, body);
    const range = options.range ? parseContentRange(output.ContentRange) : undefined;
    if (options.range) {
      // Some S3-compatible stores ignore or misread ranges; never hand out other bytes than asked for.
      const expected = range ? resolveRange(options.range, range.total) : undefined;
      if (!range || range.start !== expected!.start || range.end !== expected!.end) {
        body.destroy();
        throw new StorageError(
          `The S3 endpoint answered ${output.ContentRange ?? 'the whole object'} for ${rangeHeader(options.range)} of ${key}`,
          { details: { provider: 's3', operation: 'read' } },
        );
      }
    }
    return { body, info: infoOf(key, output, range?.total), range };
  }

  async head(key: string): Promise<ObjectInfo> {
    try {
      return infoOf(key, await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })));
    } catch (error) {
      this.fail(error, { operation: 'head', key });
    }
  }

  async delete(key: string): Promise<void> {
    try {
      // S3 answers 204 for a missing key too.
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (error) {
      const mapped = toStorageError(error, { operation: 'delete', key, bucket: this.bucket });
      if ((mapped as { code?: string }).code === 'E_NOT_FOUND') return;
      throw mapped;
    }
  }

  /**
   * One ListObjectsV2 page; the continuation token is the cursor. Tokens name the last key
   * returned, so keys added meanwhile are neither skipped nor repeated. List answers carry no
   * content type or metadata: items say `application/octet-stream` and `{}` (head() a key for them).
   */
  async list(options: ListOptions): Promise<ListPage> {
    try {
      const output = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: options.prefix || undefined,
          MaxKeys: Math.max(1, Math.min(options.limit ?? 1000, 1000)),
          ContinuationToken: options.cursor,
        }),
      );
      const items = (output.Contents ?? []).map((entry) =>
        infoOf(entry.Key!, { ContentLength: entry.Size, LastModified: entry.LastModified, ETag: entry.ETag }),
      );
      return { items, cursor: output.IsTruncated ? output.NextContinuationToken : undefined };
    } catch (error) {
      this.fail(error, { operation: 'list', key: options.prefix });
    }
  }

  /** A server-side CopyObject (bytes never pass through this process; S3 allows up to 5 GiB). */
  async copy(sourceKey: string, destinationKey: string): Promise<void> {
    try {
      await this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: destinationKey,
          CopySource: `${encodeURIComponent(this.bucket)}/${sourceKey.split('/').map(encodeURIComponent).join('/')}`,
          MetadataDirective: 'COPY',
          ...this.encryption(),
        }),
      );
    } catch (error) {
      this.fail(error, { operation: 'copy', key: sourceKey });
    }
  }

  private expiry(expiresIn: number): number {
    if (!Number.isInteger(expiresIn) || expiresIn < 1 || expiresIn > MAX_PRESIGN_SECONDS) {
      throw new InvalidArgumentError(`S3 presigned URLs expire after 1 to ${MAX_PRESIGN_SECONDS} seconds`);
    }
    return expiresIn;
  }

  async presignDownload(key: string, options: PresignDownloadOptions): Promise<PresignedRequest> {
    const expiresIn = this.expiry(options.expiresIn);
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: key,
      ResponseContentDisposition: options.filename ? contentDisposition('attachment', options.filename) : undefined,
      ResponseContentType: options.responseContentType,
    });
    const url = await getSignedUrl(this.presigner, command, { expiresIn });
    return { url, method: 'GET', headers: {}, expiresAt: new Date(Date.now() + expiresIn * 1000) };
  }

  /**
   * A presigned upload. With `maxSize` (as StorageService always sends) it is a POST policy
   * form, the only presigned S3 upload that can cap the body size; otherwise a PUT URL.
   * Both are bound to the content type.
   */
  async presignUpload(key: string, options: PresignUploadOptions): Promise<PresignedRequest> {
    if (options.maxSize !== undefined) {
      return this.presignPost(key, { expiresIn: options.expiresIn, contentType: options.contentType, maxSize: options.maxSize });
    }
    return this.presignPut(key, options);
  }

  /** A presigned PUT URL; `content-type` (and any SSE header) is signed, so the client must send it as given. */
  async presignPut(key: string, options: Pick<PresignUploadOptions, 'expiresIn' | 'contentType'>): Promise<PresignedRequest> {
    const expiresIn = this.expiry(options.expiresIn);
    const command = new PutObjectCommand({ Bucket: this.bucket, Key: key, ContentType: options.contentType, ...this.encryption() });
    const url = await getSignedUrl(this.presigner, command, { expiresIn, signableHeaders: new Set(['content-type']) });
    return {
      url,
      method: 'PUT',
      headers: { 'content-type': options.contentType, ...this.encryptionHeaders() },
      expiresAt: new Date(Date.now() + expiresIn * 1000),
    };
  }

  /**
   * A presigned POST policy: the client sends `multipart/form-data` with every field, then the
   * file last. The policy pins the key, the content type, SSE and `content-length-range`.
   */
  async presignPost(key: string, options: PresignPostOptions): Promise<PresignedRequest> {
    const expiresIn = this.expiry(options.expiresIn);
    if (key.endsWith('${filename}')) {
      // The SDK would turn this suffix into a `starts-with` condition: any key under the prefix.
      throw new InvalidArgumentError('A key ending in "${filename}" cannot be presigned for a POST upload');
    }
    const { url, fields } = await createPresignedPost(this.presigner, {
      Bucket: this.bucket,
      Key: key,
      Expires: expiresIn,
      Conditions: [['content-length-range', options.minSize ?? 0, options.maxSize]],
      Fields: { 'Content-Type': options.contentType, ...this.encryptionHeaders() },
    });
    return { url, method: 'POST', headers: {}, fields, expiresAt: new Date(Date.now() + expiresIn * 1000) };
  }

  async ping(signal?: AbortSignal): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }), { abortSignal: signal });
    } catch (error) {
      if (s3StatusOf(error) === 404) {
        throw new ProviderUnavailableError(`S3 bucket "${this.bucket}" does not exist`, { cause: error });
      }
      const mapped = toStorageError(error, { operation: 'ping', bucket: this.bucket });
      if (mapped instanceof ProviderUnavailableError || mapped instanceof TimeoutError) throw mapped;
      throw new ProviderUnavailableError(`S3 bucket "${this.bucket}" is not usable: ${(mapped as Error).message}`, { cause: error });
    }
  }

  override async close(): Promise<void> {
    this.client?.destroy();
    this.presigner?.destroy();
  }
}
