import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import { Injectable } from '@nestjs/common';
import { Storage, type Bucket, type CreateWriteStreamOptions, type File, type FileMetadata } from '@google-cloud/storage';
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
  ResolvedRange,
  PutResult,
} from '../../contract/index.js';
import { StorageProvider, StorageProviderType } from '../../contract/index.js';
import { InvalidArgumentError, ProviderUnavailableError, StorageError, TimeoutError } from '../../errors/index.js';
import { contentDisposition } from '../../http/content-headers.js';
import { knownLength, resolveRange, toReadable } from '../../streams/index.js';
import { GcsProviderConfig, parseCredentials } from './gcs.config.js';
import { httpStatusOf, isConnectionReset, toStorageError, type GcsErrorContext } from './gcs.errors.js';

const DEFAULT_RESUMABLE_THRESHOLD = 8 * 1024 * 1024;
/** V4 signatures are valid for at most seven days. */
const MAX_SIGNED_URL_SECONDS = 7 * 24 * 3600;
const PING_TIMEOUT_MS = 5_000;

function toInfo(key: string, metadata: FileMetadata): ObjectInfo {
  const user: Record<string, string> = {};
  for (const [name, value] of Object.entries(metadata.metadata ?? {})) {
    if (value !== null && value !== undefined) user[name] = String(value);
  }
  return {
    key,
    size: Number(metadata.size ?? 0),
    contentType: metadata.contentType ?? 'application/octet-stream',
    metadata: user,
    lastModified: new Date(metadata.updated ?? metadata.timeCreated ?? 0),
    etag: metadata.etag,
    cacheControl: metadata.cacheControl,
  };
}

/**
 * Google Cloud Storage through `@google-cloud/storage` (7.x, the line that runs on Node 20).
 *
 * Uploads stream through `createWriteStream`: one request for small bodies of known length,
 * a resumable session otherwise. Either way GCS makes an object visible only when its upload
 * completes, so a failed or aborted body leaves nothing and an existing object untouched.
 * The SDK retries only requests whose connection died; StorageService retries transient errors
 * for every provider.
 */
@Injectable()
@StorageProviderType('gcs', { config: GcsProviderConfig })
export class GcsStorageProvider extends StorageProvider<GcsProviderConfig> {
  /** The backend stores a one-request upload once its declared bytes have arrived, a resumable session told its length once that many have. */
  protected override readonly storesOnLength = true;

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
    publicUrl: 'GCS objects are served through signed URLs; public buckets are not configured by this provider',
  };

  private storage!: Storage;
  private bucket!: Bucket;

  override async initialize(context: ProviderContext<GcsProviderConfig>): Promise<void> {
    await super.initialize(context);
    const { config } = context;
    const credentials = config.credentials === undefined ? undefined : parseCredentials(config.credentials);
    this.storage = new Storage({
      projectId: config.project_id ?? credentials?.project_id,
      keyFilename: config.key_filename,
      credentials,
      apiEndpoint: config.api_endpoint?.replace(/\/+$/, ''),
      useAuthWithCustomEndpoint: config.use_auth_with_custom_endpoint,
      // Only a request whose connection died is sent again here (once, within a second, and only
      // when the SDK deems it idempotent). 429 and 5xx answers are retried by StorageService, above
      // every provider: two retry layers would multiply attempts and delays.
      retryOptions: {
        autoRetry: true,
        maxRetries: 1,
        retryDelayMultiplier: 2,
        // Seconds; the resumable-upload client refuses a cap under its 1 s minimum.
        maxRetryDelay: 1,
        totalTimeout: 60,
        retryableErrorFn: isConnectionReset,
      },
    });
    this.bucket = this.storage.bucket(config.bucket);
  }

  private get resumableThreshold(): number {
    return this.config.resumable_threshold ?? DEFAULT_RESUMABLE_THRESHOLD;
  }

  /** A handle on `key`; new objects written through it use the configured KMS key. */
  private file(key: string, generation?: string | number): File {
    return this.bucket.file(key, { kmsKeyName: this.config.kms_key_name, generation });
  }

  private fail(error: unknown, context: GcsErrorContext): never {
    throw toStorageError(error, context);
  }

  async put(key: string, body: BodySource, options: PutOptions): Promise<PutResult> {
    options.signal?.throwIfAborted();
    const length = options.contentLength ?? knownLength(body);
    body = this.verifiedBody(body, { ...options, contentLength: length });
    const resumable = length === undefined || length > this.resumableThreshold;
    const metadata: FileMetadata & { contentLength?: number } = {
      contentType: options.contentType,
      cacheControl: options.cacheControl,
      metadata: { ...(options.metadata ?? {}) },
    };
    // A resumable session told the length lets GCS refuse a body that ends short.
    if (resumable && length !== undefined) metadata.contentLength = length;
    const writeOptions: CreateWriteStreamOptions = {
      resumable,
      contentType: options.contentType,
      metadata,
      validation: 'crc32c',
      // ifGenerationMatch 0: the upload succeeds only if no live object has this name (412 otherwise).
      preconditionOpts: options.ifNotExists ? { ifGenerationMatch: 0 } : undefined,
    };
    const file = this.file(key);
    // The SDK cannot cancel the request that carries an upload's last bytes: once the whole body
    // has been handed over, an abort would report a failure for an upload that then completes.
    // The signal therefore stops the upload while the body is still being read, and no later.
    const source = toReadable(body);
    const reading = new AbortController();
    const stopReading = () => {
      if (!source.readableEnded) reading.abort(options.signal?.reason);
    };
    options.signal?.addEventListener('abort', stopReading, { once: true });
    // Whichever side fails first is the story: the body's own error (a client gone, a wrong
    // length) passes as it is; the SDK's is mapped to a storage error.
    const writeStream = file.createWriteStream(writeOptions);
    let failedFirst: 'body' | 'backend' | undefined;
    source.once('error', () => (failedFirst ??= 'body'));
    writeStream.once('error', () => (failedFirst ??= 'backend'));
    try {
      await pipeline(source, writeStream, { signal: reading.signal });
    } catch (error) {
      if (reading.signal.aborted) throw reading.signal.reason;
      if (failedFirst === 'body') throw error;
      this.fail(error, { operation: 'upload', key });
    } finally {
      options.signal?.removeEventListener('abort', stopReading);
    }
    const stored = file.metadata;
    return { key, size: Number(stored.size ?? length ?? 0), etag: stored.etag };
  }

  private async metadataOf(key: string): Promise<FileMetadata> {
    try {
      const [metadata] = await this.file(key).getMetadata();
      return metadata;
    } catch (error) {
      this.fail(error, { operation: 'read metadata of', key });
    }
  }

  async get(key: string, options: GetOptions = {}): Promise<GetResult> {
    options.signal?.throwIfAborted();
    const metadata = await this.metadataOf(key);
    const info = toInfo(key, metadata);
    const range = options.range ? resolveRange(options.range, info.size) : undefined;
    const body = await this.download(key, metadata.generation, range, info.size, options.signal);
    return { body, info, range };
  }

  /**
   * Streams an object's media with `fetch` rather than the SDK's createReadStream: when a reader
   * stops early (a client seeking in a video disconnects), the SDK destroys its shared keep-alive
   * agent, failing every other request in flight in the process. Aborting a fetch closes only
   * its own connection. The generation just described is read, so an overwrite in between fails
   * instead of serving new bytes under old facts.
   */
  private async download(
    key: string,
    generation: string | number | undefined,
    range: ResolvedRange | undefined,
    size: number,
    signal: AbortSignal | undefined,
  ): Promise<Readable> {
    const url = new URL(`${this.storage.apiEndpoint}/download/storage/v1/b/${encodeURIComponent(this.bucket.name)}/o/${encodeURIComponent(key)}`);
    url.searchParams.set('alt', 'media');
    if (generation !== undefined) url.searchParams.set('generation', String(generation));
    // identity: bytes as stored, so ranges address stored bytes.
    const headers: Record<string, string> = { 'accept-encoding': 'identity' };
    if (range) headers.range = `bytes=${range.start}-${range.end}`;
    const context = { operation: 'read', key, size };
    const controller = new AbortController();
    const forward = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', forward, { once: true });
    let response: Response;
    try {
      if (this.authenticates) {
        // A plain object in google-auth-library 9, a fetch Headers in later lines.
        const auth: unknown = await this.storage.authClient.getRequestHeaders(url.href);
        if (auth instanceof Headers) auth.forEach((value, name) => (headers[name] = value));
        else Object.assign(headers, auth);
      }
      response = await fetch(url, { headers, signal: controller.signal });
    } catch (error) {
      signal?.removeEventListener('abort', forward);
      if (signal?.aborted) throw signal.reason;
      this.fail(error, context);
    }
    if (response.status !== 200 && response.status !== 206) {
      signal?.removeEventListener('abort', forward);
      const message = await response.text().catch(() => response.statusText);
      this.fail(Object.assign(new Error(message || response.statusText), { code: response.status }), context);
    }
    if (range && response.status !== 206 && range.end - range.start + 1 !== size) {
      controller.abort();
      throw new StorageError(`Cloud Storage ignored the range asked for ${key} (is it stored gzip-encoded?)`);
    }
    const body = response.body
      ? Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>)
      : Readable.from([], { objectMode: false });
    body.once('close', () => {
      signal?.removeEventListener('abort', forward);
      if (!body.readableEnded) controller.abort();
    });
    return body;
  }

  /** The SDK sends no credentials to a custom endpoint unless told to; downloads follow suit. */
  private get authenticates(): boolean {
    const customEndpoint = (this.storage as unknown as { customEndpoint?: boolean }).customEndpoint === true;
    return !customEndpoint || this.config.use_auth_with_custom_endpoint === true;
  }

  async head(key: string): Promise<ObjectInfo> {
    return toInfo(key, await this.metadataOf(key));
  }

  async delete(key: string): Promise<void> {
    try {
      await this.file(key).delete({ ignoreNotFound: true });
    } catch (error) {
      this.fail(error, { operation: 'delete', key });
    }
  }

  async list(options: ListOptions): Promise<ListPage> {
    const limit = Math.max(1, Math.min(options.limit ?? 1000, 1000));
    try {
      // GCS page tokens are stateless (they name where the next page starts), so keys added
      // meanwhile neither shift nor repeat earlier pages.
      const [files, next] = await this.bucket.getFiles({
        prefix: options.prefix || undefined,
        maxResults: limit,
        pageToken: options.cursor,
        autoPaginate: false,
      });
      const cursor = (next as { pageToken?: string } | null)?.pageToken;
      return { items: files.map((file) => toInfo(file.name, file.metadata)), cursor: cursor || undefined };
    } catch (error) {
      this.fail(error, { operation: 'list', key: options.prefix });
    }
  }

  async copy(sourceKey: string, destinationKey: string): Promise<void> {
    try {
      // A server-side rewrite: bytes never pass through this process; metadata is copied.
      await this.file(sourceKey).copy(this.file(destinationKey));
    } catch (error) {
      this.fail(error, { operation: 'copy', key: sourceKey });
    }
  }

  private expiry(expiresIn: number): number {
    if (!Number.isFinite(expiresIn) || expiresIn <= 0 || expiresIn > MAX_SIGNED_URL_SECONDS) {
      throw new InvalidArgumentError(`GCS signed URLs expire after 1 to ${MAX_SIGNED_URL_SECONDS} seconds`);
    }
    return Date.now() + Math.floor(expiresIn * 1000);
  }

  async presignDownload(key: string, options: PresignDownloadOptions): Promise<PresignedRequest> {
    const expires = this.expiry(options.expiresIn);
    try {
      const [url] = await this.file(key).getSignedUrl({
        version: 'v4',
        action: 'read',
        expires,
        responseType: options.responseContentType,
        responseDisposition: options.filename ? contentDisposition('attachment', options.filename) : undefined,
      });
      return { url, method: 'GET', headers: {}, expiresAt: new Date(expires) };
    } catch (error) {
      this.fail(error, { operation: 'sign a download of', key });
    }
  }

  /**
   * A V4 signed PUT bound to its content type (signed `content-type`), its size limit
   * (`x-goog-content-length-range`) and the KMS key: GCS refuses the upload if the client sends
   * other values or leaves one out.
   */
  async presignUpload(key: string, options: PresignUploadOptions): Promise<PresignedRequest> {
    const expires = this.expiry(options.expiresIn);
    const extensionHeaders: Record<string, string> = {};
    if (options.maxSize !== undefined) extensionHeaders['x-goog-content-length-range'] = `0,${options.maxSize}`;
    if (this.config.kms_key_name) extensionHeaders['x-goog-encryption-kms-key-name'] = this.config.kms_key_name;
    try {
      const [url] = await this.file(key).getSignedUrl({
        version: 'v4',
        action: 'write',
        expires,
        contentType: options.contentType,
        extensionHeaders,
      });
      return {
        url,
        method: 'PUT',
        headers: { 'content-type': options.contentType, ...extensionHeaders },
        expiresAt: new Date(expires),
      };
    } catch (error) {
      this.fail(error, { operation: 'sign an upload to', key });
    }
  }

  /** Lists one object: needs only `storage.objects.list`, which any working setup has. */
  async ping(signal?: AbortSignal): Promise<void> {
    const timeout = AbortSignal.timeout(PING_TIMEOUT_MS);
    const stop = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const probe = this.bucket.getFiles({ maxResults: 1, autoPaginate: false });
    const aborted = new Promise<never>((_, reject) => {
      stop.addEventListener('abort', () => reject(stop.reason), { once: true });
    });
    try {
      await Promise.race([probe, aborted]);
    } catch (error) {
      if (timeout.aborted) throw new TimeoutError(`Cloud Storage bucket ${this.config.bucket} did not answer in ${PING_TIMEOUT_MS} ms`);
      if (signal?.aborted) throw signal.reason;
      if (httpStatusOf(error) === 404) {
        throw new ProviderUnavailableError(`Cloud Storage bucket ${this.config.bucket} does not exist`, { cause: error });
      }
      const mapped = toStorageError(error, { operation: `list bucket ${this.config.bucket}` });
      if (mapped instanceof Error && mapped !== error) throw mapped;
      throw new ProviderUnavailableError(`Cloud Storage bucket ${this.config.bucket} is not reachable: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
}
