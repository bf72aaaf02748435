import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, Min } from 'class-validator';
import type {
  BodySource,
  GetOptions,
  GetResult,
  ListOptions,
  ListPage,
  ObjectInfo,
  ProviderCapabilities,
  PutOptions,
  PutResult,
} from '../../contract/index.js';
import { StorageProviderType } from '../../contract/index.js';
import { integerish } from '../../config/coerce.js';
import { AlreadyExistsError, InsufficientStorageError, ObjectNotFoundError } from '../../errors/index.js';
import { resolveRange, toReadable } from '../../streams/index.js';
import { SELF_SERVED_CAPABILITIES, SelfServedConfig, SelfServedProvider } from '../self-served.provider.js';

export class MemoryProviderConfig extends SelfServedConfig {
  /** Refuse writes that would hold more than this many bytes in total. Default 256 MiB. */
  @Transform(integerish) @IsOptional() @IsInt() @Min(0) max_total_bytes?: number;
}

/** The bytes [start, end) of a chunked object, as views of its chunks. */
function* sliceChunks(chunks: Buffer[], start: number, end: number): Generator<Buffer> {
  let offset = 0;
  for (const chunk of chunks) {
    if (offset >= end) return;
    const from = Math.max(start - offset, 0);
    const to = Math.min(end - offset, chunk.length);
    if (from < to) yield chunk.subarray(from, to);
    offset += chunk.length;
  }
}

interface StoredObject {
  chunks: Buffer[];
  info: ObjectInfo;
}

/**
 * Keeps objects in process memory: for tests and development. Objects appear only once their
 * body has been read completely; a failed body leaves nothing. Bounded by `max_total_bytes`.
 */
@Injectable()
@StorageProviderType('memory', { config: MemoryProviderConfig })
export class MemoryStorageProvider extends SelfServedProvider<MemoryProviderConfig> {
  readonly capabilities: ProviderCapabilities = {
    ...SELF_SERVED_CAPABILITIES,
    publicUrl: 'memory objects have no public address',
  };

  private readonly objects = new Map<string, StoredObject>();
  private totalBytes = 0;

  private get limit(): number {
    return this.config.max_total_bytes ?? 256 * 1024 * 1024;
  }

  async put(key: string, body: BodySource, options: PutOptions): Promise<PutResult> {
    if (options.ifNotExists && this.objects.has(key)) throw new AlreadyExistsError(`Object already exists: ${key}`);
    body = this.verifiedBody(body, options);
    const chunks: Buffer[] = [];
    let size = 0;
    const hash = createHash('md5');
    const source = toReadable(body);
    for await (const chunk of source) {
      options.signal?.throwIfAborted();
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      size += buffer.length;
      if (this.totalBytes + size > this.limit) {
        source.destroy();
        throw new InsufficientStorageError(`Memory provider "${this.name}" is full (${this.limit} bytes)`);
      }
      hash.update(buffer);
      chunks.push(buffer);
    }
    options.signal?.throwIfAborted();
    this.assertDeclaredLength(size, options);
    if (options.ifNotExists && this.objects.has(key)) throw new AlreadyExistsError(`Object already exists: ${key}`);
    const etag = `"${hash.digest('hex')}"`;
    this.totalBytes += size - (this.objects.get(key)?.info.size ?? 0);
    this.objects.set(key, {
      chunks,
      info: {
        key,
        size,
        contentType: options.contentType,
        metadata: { ...(options.metadata ?? {}) },
        cacheControl: options.cacheControl,
        lastModified: new Date(),
        etag,
      },
    });
    return { key, size, etag };
  }

  private find(key: string): StoredObject {
    const found = this.objects.get(key);
    if (!found) throw new ObjectNotFoundError(key);
    return found;
  }

  async get(key: string, options: GetOptions = {}): Promise<GetResult> {
    const { chunks, info } = this.find(key);
    const range = options.range ? resolveRange(options.range, info.size) : undefined;
    // Views of the stored chunks, never a concatenated copy: a read costs no memory per byte.
    const body = Readable.from(sliceChunks(chunks, range?.start ?? 0, range ? range.end + 1 : info.size), { objectMode: false });
    return { body, info: { ...info, metadata: { ...info.metadata } }, range };
  }

  async head(key: string): Promise<ObjectInfo> {
    const { info } = this.find(key);
    return { ...info, metadata: { ...info.metadata } };
  }

  async delete(key: string): Promise<void> {
    const found = this.objects.get(key);
    if (found) this.totalBytes -= found.info.size;
    this.objects.delete(key);
  }

  async list(options: ListOptions): Promise<ListPage> {
    const prefix = options.prefix ?? '';
    const limit = Math.max(1, Math.min(options.limit ?? 1000, 1000));
    const after = options.cursor ? Buffer.from(options.cursor, 'base64url') : undefined;
    const keys = [...this.objects.keys()]
      .filter((key) => key.startsWith(prefix))
      .map((key) => Buffer.from(key))
      .filter((key) => !after || Buffer.compare(key, after) > 0)
      .sort(Buffer.compare);
    const page = keys.slice(0, limit).map((key) => key.toString('utf8'));
    const items = page.map((key) => ({ ...this.objects.get(key)!.info }));
    return { items, cursor: keys.length > limit ? Buffer.from(page.at(-1)!).toString('base64url') : undefined };
  }

  async copy(sourceKey: string, destinationKey: string): Promise<void> {
    const { chunks, info } = this.find(sourceKey);
    // Stored chunks are never mutated, so the copy can share them.
    await this.put(destinationKey, Readable.from(chunks, { objectMode: false }), {
      contentType: info.contentType,
      metadata: info.metadata,
      cacheControl: info.cacheControl,
    });
  }

  async ping(): Promise<void> {}

  /** Drops every object (tests). */
  clear(): void {
    this.objects.clear();
    this.totalBytes = 0;
  }
}
