import { createHash, type Hash } from 'node:crypto';
import { pipeline, Transform, type Readable, type TransformCallback } from 'node:stream';
import { ChecksumMismatchError, IncompleteBodyError, InvalidArgumentError } from '../errors/index.js';
import { toReadable } from '../streams/body.js';

/** Anything an upload can read from. A Buffer is replayable; a stream is read once. */
export type BodySource = Buffer | Uint8Array | Readable | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/** A byte range: `{start, end}` (end inclusive, omitted = to the end) or `{suffix: N}` (the last N bytes). */
export type ByteRange = { start: number; end?: number } | { suffix: number };

/** A range resolved against an object's size: inclusive bounds and the total. */
export interface ResolvedRange {
  start: number;
  end: number;
  total: number;
}

export interface PutOptions {
  contentType: string;
  /** User metadata; keys are lower-case ASCII, values strings. */
  metadata?: Record<string, string>;
  /** The body's length when known; lets a provider choose single-request uploads. */
  contentLength?: number;
  cacheControl?: string;
  /** Refuse to overwrite an existing object (AlreadyExistsError, the old object untouched). */
  ifNotExists?: boolean;
  /**
   * The body's expected SHA-256 (hex). A body that does not match is refused with
   * ChecksumMismatchError and leaves no object; an existing one is unharmed.
   */
  sha256?: string;
  /**
   * Aborts the upload; the provider leaves no object behind. An abort that comes once the whole
   * body has been sent may be too late to stop the backend: the upload then completes and `put`
   * resolves, never rejecting for an object it stored.
   */
  signal?: AbortSignal;
}

export interface PutResult {
  key: string;
  size: number;
  etag?: string;
}

export interface ObjectInfo {
  key: string;
  size: number;
  contentType: string;
  metadata: Record<string, string>;
  lastModified: Date;
  etag?: string;
  cacheControl?: string;
}

export interface GetOptions {
  range?: ByteRange;
  signal?: AbortSignal;
}

export interface GetResult {
  body: Readable;
  info: ObjectInfo;
  /** Present when a range was asked for. */
  range?: ResolvedRange;
}

export interface ListOptions {
  prefix?: string;
  /** Opaque cursor from a previous page. */
  cursor?: string;
  /** Page size (a provider may return fewer). */
  limit?: number;
}

export interface ListPage {
  items: ObjectInfo[];
  /** Absent on the last page. */
  cursor?: string;
}

export interface PresignDownloadOptions {
  expiresIn: number; // seconds
  /** Serve as an attachment with this file name. */
  filename?: string;
  /** Override the served content type. */
  responseContentType?: string;
}

export interface PresignUploadOptions {
  expiresIn: number; // seconds
  contentType: string;
  /** Largest body the URL may carry, where the backend can enforce it. */
  maxSize?: number;
}

/** Everything a client needs to perform a request without credentials. */
export interface PresignedRequest {
  url: string;
  method: 'GET' | 'PUT' | 'POST';
  /** Headers the client must send exactly. */
  headers: Record<string, string>;
  /** Form fields for a POST policy upload (multipart/form-data, file field last). */
  fields?: Record<string, string>;
  expiresAt: Date;
}

/**
 * What a provider can do. `true` means supported; a string means not supported and says why.
 * Callers (and the conformance suite) ask before relying on a feature.
 */
export interface ProviderCapabilities {
  rangeRead: true | string;
  suffixRange: true | string;
  list: true | string;
  copy: true | string;
  userMetadata: true | string;
  /** ifNotExists is enforced atomically by the backend. */
  createOnly: true | string;
  presignDownload: true | string;
  presignUpload: true | string;
  /** A presigned upload refuses a body of another content type. */
  presignUploadEnforcesContentType: true | string;
  /** A presigned URL with a changed path, query or method is refused. */
  presignEnforcesSignature: true | string;
  /** An expired presigned URL is refused. */
  presignEnforcesExpiry: true | string;
  /** A presigned upload refuses a body over maxSize. */
  presignUploadEnforcesMaxSize: true | string;
  publicUrl: true | string;
}

export type CapabilityName = keyof ProviderCapabilities;

/** Facts about one configured provider instance. */
export interface ProviderContext<C = Record<string, unknown>> {
  /** Instance name from configuration (e.g. `s3`, `archive`). */
  name: string;
  /** The validated `config` block. */
  config: C;
}

export interface DeclaredBodyGuardOptions {
  /** The body must have exactly this many bytes. */
  declared?: number;
  /** The body must have this SHA-256 (lower-case hex). */
  sha256?: string;
  /** Pass the body on one chunk behind, so that its last chunk goes out only once it has ended well. */
  holdLast?: boolean;
}

/**
 * Holds a body to its declared facts as it passes: fails when it grows past `declared` bytes
 * (before the excess goes out), and at its end unless it had exactly `declared` bytes and the
 * expected SHA-256. With `holdLast`, the last chunk goes out only after those checks passed.
 */
export class DeclaredBodyGuard extends Transform {
  private readonly hash?: Hash;
  private held?: Buffer;
  /** Bytes seen so far. */
  bytes = 0;

  constructor(private readonly options: DeclaredBodyGuardOptions) {
    super();
    if (options.sha256 !== undefined) this.hash = createHash('sha256');
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const { declared } = this.options;
    this.bytes += chunk.length;
    if (declared !== undefined && this.bytes > declared) {
      callback(new IncompleteBodyError(`Body is longer than its declared ${declared} bytes`, { details: { declared, received: this.bytes } }));
      return;
    }
    this.hash?.update(chunk);
    if (!this.options.holdLast) {
      callback(null, chunk);
      return;
    }
    const previous = this.held;
    this.held = chunk;
    callback(null, previous);
  }

  override _flush(callback: TransformCallback): void {
    const { declared } = this.options;
    if (declared !== undefined && this.bytes !== declared) {
      callback(new IncompleteBodyError(`Body ended after ${this.bytes} of its declared ${declared} bytes`, { details: { declared, received: this.bytes } }));
      return;
    }
    if (this.hash && this.hash.digest('hex') !== this.options.sha256) {
      callback(new ChecksumMismatchError('Body does not match its declared SHA-256'));
      return;
    }
    callback(null, this.held);
  }
}

/**
 * The contract every backend implements. A provider only moves bytes: keys are validated,
 * sizes limited and checksums computed above it, in StorageService.
 *
 * A provider type is a class extending this one, registered with the module (see
 * `StorageProviderType`). Instances are created through Nest's DI (so a custom type can inject
 * services), then `initialize` receives the instance name and validated config.
 */
export abstract class StorageProvider<C = any> {
  /** The instance name (`providers.<name>` in configuration). */
  name!: string;
  /** The validated `config` block of this instance. */
  config!: C;

  abstract readonly capabilities: ProviderCapabilities;

  /** Called once with the validated configuration, before any other method. */
  async initialize(context: ProviderContext<C>): Promise<void> {
    this.name = context.name;
    this.config = context.config;
  }

  /**
   * Stores a body under `key`. The object becomes visible only once complete: if the body
   * errors or the signal aborts, no object is left and an existing one is unharmed.
   */
  abstract put(key: string, body: BodySource, options: PutOptions): Promise<PutResult>;

  /** Opens an object for reading. Throws ObjectNotFoundError, RangeNotSatisfiableError. */
  abstract get(key: string, options?: GetOptions): Promise<GetResult>;

  /** Reads an object's facts. Throws ObjectNotFoundError. */
  abstract head(key: string): Promise<ObjectInfo>;

  async exists(key: string): Promise<boolean> {
    try {
      await this.head(key);
      return true;
    } catch (error) {
      if ((error as { code?: string }).code === 'E_NOT_FOUND') return false;
      throw error;
    }
  }

  /** Deletes an object; deleting a missing key is not an error. */
  abstract delete(key: string): Promise<void>;

  abstract list(options: ListOptions): Promise<ListPage>;

  abstract copy(sourceKey: string, destinationKey: string): Promise<void>;

  async move(sourceKey: string, destinationKey: string): Promise<void> {
    if (sourceKey === destinationKey) {
      await this.head(sourceKey); // moving onto itself changes nothing (but a missing object is still missing)
      return;
    }
    await this.copy(sourceKey, destinationKey);
    await this.delete(sourceKey);
  }

  abstract presignDownload(key: string, options: PresignDownloadOptions): Promise<PresignedRequest>;

  abstract presignUpload(key: string, options: PresignUploadOptions): Promise<PresignedRequest>;

  /** A public URL when the backend serves the key publicly; undefined otherwise. */
  publicUrl(_key: string): string | undefined {
    return undefined;
  }

  /** A cheap reachability check for health probes; throws (with a reason) when down. */
  abstract ping(signal?: AbortSignal): Promise<void>;

  /** Releases clients and sockets. */
  async close(): Promise<void> {}

  /**
   * For a provider that stores an upload only after the body has ended (a temp file renamed into
   * place): refuses, before anything is published, a body whose length is not the declared one.
   */
  protected assertDeclaredLength(received: number, options: Pick<PutOptions, 'contentLength'>): void {
    const declared = options.contentLength;
    if (declared !== undefined && received !== declared) {
      throw new IncompleteBodyError(`Body has ${received} bytes, declared ${declared}`, { details: { declared, received } });
    }
  }

  /**
   * True for a backend that stores an upload once it has received the bytes it was told to
   * expect (a declared Content-Length, the length of a resumable session), which can happen
   * before the body has reported its own end. `verifiedBody` then always guards the body.
   */
  protected readonly storesOnLength: boolean = false;

  /**
   * The body as `put` should read it. When `options.sha256` is given, or always for a provider
   * that `storesOnLength`, the body is held to its declared facts: a Buffer is checked at once; a
   * stream is hashed and counted as it flows, and its last chunk is handed over only once the
   * stream has ended well, matched `sha256` and had exactly `contentLength` bytes. A stream that
   * fails any of these, or fails after its last byte, therefore never reaches the end of an
   * upload, and the provider stores nothing, as for a body that breaks midway. A stream longer
   * than declared fails before the excess is handed over. Destroying what this returns destroys
   * the body. Every built-in provider calls this in `put` (after its checks that need no bytes);
   * a custom provider should too.
   */
  protected verifiedBody(body: BodySource, options: Pick<PutOptions, 'sha256' | 'contentLength'>): BodySource {
    const expected = options.sha256?.toLowerCase();
    if (expected === undefined && !this.storesOnLength) return body;
    if (expected !== undefined && !/^[0-9a-f]{64}$/.test(expected)) {
      throw new InvalidArgumentError('sha256 must be 64 hexadecimal characters');
    }
    const declared = options.contentLength;
    if (body instanceof Uint8Array) {
      this.assertDeclaredLength(body.byteLength, options);
      if (expected !== undefined && createHash('sha256').update(body).digest('hex') !== expected) {
        throw new ChecksumMismatchError('Body does not match its declared SHA-256');
      }
      return body;
    }
    const guard = new DeclaredBodyGuard({ declared, sha256: expected, holdLast: true });
    // The body's own error reaches the provider through the guard; destroying the guard (the
    // provider giving up) destroys the body at once, even one that is waiting for its client.
    pipeline(toReadable(body), guard, () => undefined);
    return guard;
  }
}
