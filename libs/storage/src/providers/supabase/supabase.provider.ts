import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Injectable, Logger } from '@nestjs/common';
import { StorageClient } from '@supabase/storage-js';
import type {
  BodySource,
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
} from '../../contract/index.js';
import { StorageProvider, StorageProviderType } from '../../contract/index.js';
import { AlreadyExistsError, IncompleteBodyError, ProviderUnavailableError, StorageError, UnsupportedOperationError } from '../../errors/index.js';
import { knownLength, resolveRange, toReadable } from '../../streams/index.js';
import { SUPABASE_TUS_CHUNK_BYTES, SupabaseProviderConfig } from './supabase.config.js';
import { failureOfClientError, mapFailure, parseFailureBody, unreachable, type FailureContext } from './supabase.errors.js';
import { listByPrefix, type ListEntry } from './supabase.list.js';
import { ResumableUploadError, resumableUpload } from './supabase.tus.js';

interface InfoBody {
  size: number | null;
  content_type: string | null;
  cache_control: string | null;
  etag: string | null;
  metadata: Record<string, unknown> | null;
  last_modified: string | null;
  created_at: string | null;
}

/**
 * Path of a key in a request URL. The client libraries paste keys into URLs unencoded, which
 * breaks keys holding `%`, `?` or `#`; this encodes like `encodeURI` (which the server's
 * `decodeURI` of signed paths undoes) plus `?` and `#`.
 */
export function encodeKeyPath(key: string): string {
  return encodeURI(key).replace(/\?/g, '%3F').replace(/#/g, '%23');
}

/** The `exp` claim of a JWT (the server's signed-URL token), read without verifying it. */
function tokenExpiry(token: string): Date | undefined {
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as { exp?: number };
    return typeof claims.exp === 'number' ? new Date(claims.exp * 1000) : undefined;
  } catch {
    return undefined;
  }
}

/** Compares ETags ignoring weak markers and quotes (a proxy may weaken them). */
function sameEtag(a: string, b: string): boolean {
  const bare = (tag: string) => tag.replace(/^W\//, '').replace(/"/g, '');
  return bare(a) === bare(b);
}

/** A stream that counts what it passes, and remembers whether its source ended or failed (and with what). */
function tracked(source: Readable): { stream: Readable; bytes: () => number; ended: () => boolean; failure: () => unknown } {
  let bytes = 0;
  let ended = false;
  let failure: unknown;
  async function* pass(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of source) {
        const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
        bytes += buffer.length;
        yield buffer;
      }
      ended = true;
    } catch (error) {
      failure = error;
      throw error;
    }
  }
  return { stream: Readable.from(pass(), { objectMode: false }), bytes: () => bytes, ended: () => ended, failure: () => failure };
}

/**
 * Supabase Storage through its REST API: JSON operations (list, move, copy, remove, signing)
 * with storage-js, uploads streamed with fetch or, for large and unknown-length bodies, TUS
 * resumable uploads with tus-js-client, ranged downloads with fetch. The API answers errors
 * with HTTP 400 and the real status in the body; `mapFailure` turns them into typed errors.
 */
@Injectable()
@StorageProviderType('supabase', { config: SupabaseProviderConfig })
export class SupabaseStorageProvider extends StorageProvider<SupabaseProviderConfig> {
  /** The backend stores a one-request upload once its Content-Length has arrived, a TUS upload once its declared length has. */
  protected override readonly storesOnLength = true;

  readonly capabilities: ProviderCapabilities = {
    rangeRead: true,
    suffixRange: true,
    list: true,
    copy: true,
    userMetadata: true,
    createOnly:
      'Supabase checks x-upsert: false when an upload starts, not atomically when it completes: two concurrent create-only uploads of one key can both succeed',
    presignDownload: true,
    presignUpload: true,
    presignUploadEnforcesContentType:
      "Supabase signed upload tokens bind the path only: the uploader's Content-Type is stored as sent (limit types with the bucket's allowed_mime_types)",
    presignEnforcesSignature: true,
    presignEnforcesExpiry:
      'signed upload URLs live for the server-wide UPLOAD_SIGNED_URL_EXPIRATION_TIME (2 hours by default) whatever expiresIn asks; download URLs do honour expiresIn',
    presignUploadEnforcesMaxSize: "signed upload tokens carry no size: only the bucket's file_size_limit applies",
    publicUrl: 'the bucket is not public',
  };

  private readonly logger = new Logger('SupabaseStorage');
  private client!: StorageClient;
  private storageUrl!: string;
  private authHeaders!: Record<string, string>;
  private isPublic = false;
  private sizeLimit?: number;
  private warnedCacheControl = false;

  override async initialize(context: ProviderContext<SupabaseProviderConfig>): Promise<void> {
    await super.initialize(context);
    const { config } = context;
    this.storageUrl = (config.storage_url ?? `${config.url.replace(/\/+$/, '')}/storage/v1`).replace(/\/+$/, '');
    this.authHeaders = { apikey: config.key, authorization: `Bearer ${config.key}` };
    this.client = new StorageClient(this.storageUrl, this.authHeaders);
    if (config.public !== undefined) this.setPublic(config.public);
    else await this.describeBucket();
  }

  /** Learns whether the bucket is public (and its size limit); a failure only costs public URLs. */
  private async describeBucket(): Promise<void> {
    try {
      const response = await this.send('read the bucket', undefined, `${this.storageUrl}/bucket/${encodeURIComponent(this.config.bucket)}`, {
        headers: this.authHeaders,
        signal: AbortSignal.timeout(5000),
      });
      const bucket = (await response.json()) as { public?: boolean; file_size_limit?: number | null };
      this.setPublic(Boolean(bucket.public));
      this.sizeLimit = bucket.file_size_limit ?? undefined;
    } catch (error) {
      this.logger.warn(`Provider "${this.name}": could not read bucket "${this.config.bucket}" (${String((error as Error).message)}); public URLs stay off`);
    }
  }

  private setPublic(isPublic: boolean): void {
    this.isPublic = isPublic;
    this.capabilities.publicUrl = isPublic ? true : 'the bucket is not public';
  }

  private context(operation: string, key?: string): FailureContext {
    return { operation, key, bucket: this.config.bucket, sizeLimit: this.sizeLimit };
  }

  private objectPath(key: string): string {
    return `${encodeURIComponent(this.config.bucket)}/${encodeKeyPath(key)}`;
  }

  private files() {
    return this.client.from(this.config.bucket);
  }

  /** fetch with the API's error mapping: a non-2xx answer or no answer becomes a typed error. */
  private async send(operation: string, key: string | undefined, url: string, init: RequestInit & { duplex?: 'half' }): Promise<Response> {
    const context = this.context(operation, key);
    let response: Response;
    try {
      response = await fetch(url, init);
    } catch (error) {
      if (init.signal?.aborted) throw init.signal.reason;
      if ((error as { cause?: { code?: string } }).cause?.code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH') {
        throw new IncompleteBodyError(`The body of ${JSON.stringify(key)} did not have its declared length`, { cause: error });
      }
      throw unreachable(error, context);
    }
    if (response.ok) return response;
    throw mapFailure(parseFailureBody(response.status, await response.text()), context);
  }

  /** Unwraps a storage-js result, mapping its error. */
  private async call<R extends { data: unknown; error: unknown }>(operation: string, key: string | undefined, run: () => Promise<R>): Promise<NonNullable<R['data']>> {
    let result: { data: unknown; error: unknown };
    try {
      result = await run();
    } catch (error) {
      result = { data: null, error };
    }
    if (result.error === null || result.error === undefined) return result.data as NonNullable<R['data']>;
    const failure = failureOfClientError(result.error);
    throw failure ? mapFailure(failure, this.context(operation, key)) : unreachable(result.error, this.context(operation, key));
  }

  async put(key: string, body: BodySource, options: PutOptions): Promise<PutResult> {
    options.signal?.throwIfAborted();
    const length = options.contentLength ?? knownLength(body);
    const threshold = this.config.tus_threshold_bytes ?? SUPABASE_TUS_CHUNK_BYTES;
    // Supabase stores an upload once the declared bytes have arrived (storesOnLength).
    body = this.verifiedBody(body, { ...options, contentLength: length });
    if (length !== undefined && length < threshold) return this.putInOneRequest(key, body, options, length);
    return this.putResumable(key, body, options, length);
  }

  private async putInOneRequest(key: string, body: BodySource, options: PutOptions, length: number): Promise<PutResult> {
    const headers: Record<string, string> = {
      ...this.authHeaders,
      'content-type': options.contentType,
      'cache-control': options.cacheControl ?? 'no-cache',
      'content-length': String(length),
      'x-upsert': String(!options.ifNotExists),
    };
    if (options.metadata && Object.keys(options.metadata).length > 0) {
      headers['x-metadata'] = Buffer.from(JSON.stringify(options.metadata), 'utf8').toString('base64');
    }
    const source = body instanceof Uint8Array ? undefined : tracked(toReadable(body));
    try {
      await this.send('upload', key, `${this.storageUrl}/object/${this.objectPath(key)}`, {
        method: 'POST',
        headers,
        body: (source ? source.stream : body) as unknown as BodyInit,
        duplex: 'half',
        signal: options.signal,
      });
    } catch (error) {
      // The body's own failure (a size limit, a dropped client) is the story, not the failed request.
      throw source?.failure() ?? error;
    }
    return { key, size: source ? source.bytes() : length };
  }

  /** Seconds of a `max-age=N` Cache-Control: all a resumable upload can carry. */
  private cacheSeconds(cacheControl: string | undefined): string | undefined {
    if (cacheControl === undefined) return undefined;
    const match = /^\s*max-age=(\d+)\s*$/i.exec(cacheControl);
    if (match) return match[1];
    if (!this.warnedCacheControl) {
      this.warnedCacheControl = true;
      this.logger.warn(`Provider "${this.name}": resumable uploads carry only max-age=N; Cache-Control "${cacheControl}" is stored as no-cache`);
    }
    return undefined;
  }

  private async putResumable(key: string, body: BodySource, options: PutOptions, length: number | undefined): Promise<PutResult> {
    const buffer = body instanceof Uint8Array ? Buffer.from(body.buffer, body.byteOffset, body.byteLength) : undefined;
    const source = buffer ? undefined : tracked(toReadable(body));
    const short = () => length !== undefined && source !== undefined && source.ended() && source.bytes() !== length;
    const metadata: Record<string, string> = { bucketName: this.config.bucket, objectName: key, contentType: options.contentType };
    const seconds = this.cacheSeconds(options.cacheControl);
    if (seconds !== undefined) metadata.cacheControl = seconds;
    if (options.metadata && Object.keys(options.metadata).length > 0) metadata.metadata = JSON.stringify(options.metadata);
    try {
      const accepted = await resumableUpload({
        endpoint: `${this.storageUrl}/upload/resumable`,
        headers: { ...this.authHeaders, 'x-upsert': String(!options.ifNotExists) },
        source: buffer ?? source!.stream,
        length,
        chunkSize: this.config.tus_chunk_bytes ?? SUPABASE_TUS_CHUNK_BYTES,
        metadata,
        signal: options.signal,
        sourceFailed: () => source?.failure() !== undefined || short(),
      });
      return { key, size: length ?? source?.bytes() ?? accepted };
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (source?.failure()) throw source.failure();
      if (short()) {
        throw new IncompleteBodyError(`The body of ${JSON.stringify(key)} had ${source!.bytes()} bytes, not the ${length} declared`, { cause: error });
      }
      if (!(error instanceof ResumableUploadError)) throw error;
      if (error.failure) throw mapFailure(error.failure, this.context('upload', key));
      if (error.requestFailed) throw unreachable(error.cause, this.context('upload', key));
      throw new StorageError(`Resumable upload of ${JSON.stringify(key)} failed: ${error.message}`, { cause: error.cause });
    }
  }

  async head(key: string): Promise<ObjectInfo> {
    const response = await this.send('head', key, `${this.storageUrl}/object/info/${this.objectPath(key)}`, { headers: this.authHeaders });
    const info = (await response.json()) as InfoBody;
    const metadata: Record<string, string> = {};
    for (const [name, value] of Object.entries(info.metadata ?? {})) metadata[name] = typeof value === 'string' ? value : JSON.stringify(value);
    return {
      key,
      size: info.size ?? 0,
      contentType: info.content_type ?? 'application/octet-stream',
      metadata,
      lastModified: new Date(info.last_modified ?? info.created_at ?? Date.now()),
      etag: info.etag ?? undefined,
      cacheControl: info.cache_control ?? undefined,
    };
  }

  /**
   * Reads the object's facts (the download answer lacks its user metadata), then its bytes. A
   * range is resolved against the size first and sent as explicit bounds. If the object was
   * replaced between the two requests (another ETag), both are made again.
   */
  async get(key: string, options: GetOptions = {}): Promise<GetResult> {
    for (let attempt = 1; ; attempt++) {
      const info = await this.head(key);
      const range = options.range ? resolveRange(options.range, info.size) : undefined;
      const headers: Record<string, string> = { ...this.authHeaders };
      if (range) headers.range = `bytes=${range.start}-${range.end}`;
      const response = await this.send('download', key, `${this.storageUrl}/object/${this.objectPath(key)}`, {
        headers,
        signal: options.signal,
      });
      const etag = response.headers.get('etag');
      if (info.etag && etag && !sameEtag(etag, info.etag)) {
        await response.body?.cancel();
        if (attempt < 3) continue;
        throw new ProviderUnavailableError(`Supabase object ${JSON.stringify(key)} kept changing while it was being read`);
      }
      if (range && response.status !== 206) {
        await response.body?.cancel();
        throw new StorageError(`Supabase Storage answered a range request for ${JSON.stringify(key)} with status ${response.status}`);
      }
      const body = response.body ? Readable.fromWeb(response.body as WebReadableStream<Uint8Array>) : Readable.from([]);
      return { body, info, range };
    }
  }

  async delete(key: string): Promise<void> {
    // Removing a missing name answers with an empty list, not an error.
    await this.call('delete', key, () => this.files().remove([key]));
  }

  async list(options: ListOptions): Promise<ListPage> {
    return listByPrefix(
      options,
      (folder, search, offset, limit) =>
        this.call('list', folder, () =>
          this.files().list(folder, { limit, offset, search, sortBy: { column: 'name', order: 'asc' } }) as Promise<{ data: ListEntry[] | null; error: unknown }>,
        ),
      (key, entry) => ({
        key,
        size: entry.metadata?.size ?? 0,
        contentType: entry.metadata?.mimetype ?? 'application/octet-stream',
        metadata: {}, // the list API does not return user metadata; head() does
        lastModified: new Date(entry.updated_at ?? Date.now()),
        etag: entry.metadata?.eTag,
        cacheControl: entry.metadata?.cacheControl,
      }),
    );
  }

  async copy(sourceKey: string, destinationKey: string): Promise<void> {
    // x-upsert: a copy replaces an existing destination, as on the other backends.
    await this.call('copy', sourceKey, () => this.files().setHeader('x-upsert', 'true').copy(sourceKey, destinationKey));
  }

  override async move(sourceKey: string, destinationKey: string): Promise<void> {
    if (sourceKey === destinationKey) return super.move(sourceKey, destinationKey);
    try {
      await this.call('move', sourceKey, () => this.files().move(sourceKey, destinationKey));
    } catch (error) {
      // The API refuses to move onto an existing key; replace it as copy does.
      if (!(error instanceof AlreadyExistsError)) throw error;
      await this.copy(sourceKey, destinationKey);
      await this.delete(sourceKey);
    }
  }

  /** Signed URLs carry the path in a JWT claim that the server derives with decodeURI, which keeps `%3F`/`%23` encoded. */
  private assertSignable(key: string): void {
    if (/[?#]/.test(key)) {
      throw new UnsupportedOperationError(`Supabase cannot sign URLs for keys containing "?" or "#": ${JSON.stringify(key)}`);
    }
  }

  async presignDownload(key: string, options: PresignDownloadOptions): Promise<PresignedRequest> {
    if (options.responseContentType) {
      throw new UnsupportedOperationError('Supabase signed URLs cannot override the served content type');
    }
    this.assertSignable(key);
    const expiresIn = Math.max(1, Math.ceil(options.expiresIn));
    const { signedUrl } = await this.call('sign', key, () => this.files().createSignedUrl(encodeKeyPath(key), expiresIn));
    // Rebuilt from the token: storage-js encodes the download name twice.
    const token = new URL(signedUrl).searchParams.get('token') ?? '';
    let url = `${this.storageUrl}/object/sign/${this.objectPath(key)}?token=${encodeURIComponent(token)}`;
    if (options.filename !== undefined) url += `&download=${encodeURIComponent(options.filename)}`;
    return { url, method: 'GET', headers: {}, expiresAt: tokenExpiry(token) ?? new Date(Date.now() + expiresIn * 1000) };
  }

  /**
   * A signed upload URL for a PUT of the body with its Content-Type. The token binds the path
   * (and allows replacing an object there); its lifetime is the server's, reported in expiresAt.
   */
  async presignUpload(key: string, options: PresignUploadOptions): Promise<PresignedRequest> {
    this.assertSignable(key);
    const { token } = await this.call('sign upload', key, () => this.files().createSignedUploadUrl(encodeKeyPath(key), { upsert: true }));
    return {
      url: `${this.storageUrl}/object/upload/sign/${this.objectPath(key)}?token=${encodeURIComponent(token)}`,
      method: 'PUT',
      headers: { 'content-type': options.contentType },
      expiresAt: tokenExpiry(token) ?? new Date(Date.now() + options.expiresIn * 1000),
    };
  }

  override publicUrl(key: string): string | undefined {
    return this.isPublic ? `${this.storageUrl}/object/public/${this.objectPath(key)}` : undefined;
  }

  /** One cheap authenticated list call: checks the service, the key and the bucket. */
  async ping(signal?: AbortSignal): Promise<void> {
    await this.call('ping', undefined, () => this.files().list('', { limit: 1 }, { signal }));
  }
}
