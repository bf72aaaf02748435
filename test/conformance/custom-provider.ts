import { createHash, randomUUID } from 'node:crypto';
import { constants as fsConstants, createReadStream } from 'node:fs';
import { access, link, mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { IsNotEmpty, IsString } from 'class-validator';
import {
  AlreadyExistsError,
  ObjectNotFoundError,
  ProviderUnavailableError,
  SELF_SERVED_CAPABILITIES,
  SelfServedProvider,
  StorageProviderType,
  resolveRange,
  toReadable,
  type BodySource,
  type GetOptions,
  type GetResult,
  type ListOptions,
  type ListPage,
  type ObjectInfo,
  type ProviderCapabilities,
  type ProviderContext,
  type PutOptions,
  type PutResult,
  type SelfServedConfig,
} from '@app/storage';

/** The `config` block of a `hashed-folder` provider, validated at boot like a built-in type's. */
export class HashedFolderConfig {
  /** Folder holding the objects (created if missing). */
  @IsString() @IsNotEmpty() directory!: string;
  /** Name of the application setting (read through ConfigService) that holds the URL signing secret. */
  @IsString() @IsNotEmpty() signing_secret_setting!: string;
}

interface Header {
  key: string;
  contentType: string;
  metadata: Record<string, string>;
  cacheControl?: string;
  etag: string;
}

const MAX_HEADER_BYTES = 64 * 1024;

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * An example custom provider type, the way an application adds its own backend: a class
 * extending the provider contract, decorated with @StorageProviderType, registered through
 * `StorageModule.forRoot({ providerTypes: [HashedFolderProvider] })`, created by Nest's DI (it
 * injects ConfigService for its signing secret).
 *
 * Each object is one file named by the SHA-256 of its key (so any valid key is a safe file name)
 * holding a JSON header line, then the bytes. A write goes to a temp file and is renamed into
 * place, so readers see the whole old or the whole new object. Extending SelfServedProvider
 * gives it HMAC-signed URLs that the module's SignedUrlController serves.
 */
@Injectable()
@StorageProviderType('hashed-folder', { config: HashedFolderConfig })
export class HashedFolderProvider extends SelfServedProvider<SelfServedConfig & HashedFolderConfig> {
  // Property injection keeps the base class's constructor (and its injected route) untouched.
  @Inject(ConfigService) private readonly settings!: ConfigService;

  readonly capabilities: ProviderCapabilities = {
    ...SELF_SERVED_CAPABILITIES,
    publicUrl: 'objects are files named by hash; nothing serves them publicly',
  };

  override async initialize(context: ProviderContext<SelfServedConfig & HashedFolderConfig>): Promise<void> {
    const signing_secret = this.settings.getOrThrow<string>(context.config.signing_secret_setting);
    await super.initialize({ ...context, config: { ...context.config, signing_secret } });
    await mkdir(this.folder('objects'), { recursive: true });
    await mkdir(this.folder('tmp'), { recursive: true });
  }

  private folder(...parts: string[]): string {
    return join(this.config.directory, ...parts);
  }

  private fileOf(key: string): string {
    return this.folder('objects', createHash('sha256').update(key).digest('hex'));
  }

  async put(key: string, body: BodySource, options: PutOptions): Promise<PutResult> {
    body = this.verifiedBody(body, options);
    const tmp = this.folder('tmp', randomUUID());
    const target = this.fileOf(key);
    const header: Header = {
      key,
      contentType: options.contentType,
      metadata: options.metadata ?? {},
      cacheControl: options.cacheControl,
      etag: `"${randomUUID()}"`,
    };
    const headerBytes = Buffer.from(`${JSON.stringify(header)}\n`);
    let size = 0;
    try {
      const handle = await open(tmp, 'wx').catch((error: unknown) => {
        // The folder is gone or is not a folder: the backend is down, not the request wrong.
        if (errno(error) === 'ENOENT' || errno(error) === 'ENOTDIR') {
          throw new ProviderUnavailableError(`Folder ${this.config.directory} is not usable: ${(error as Error).message}`, { cause: error });
        }
        throw error;
      });
      try {
        await handle.write(headerBytes);
        for await (const chunk of toReadable(body)) {
          options.signal?.throwIfAborted();
          await handle.write(chunk as Uint8Array);
          size += (chunk as Uint8Array).byteLength;
        }
        options.signal?.throwIfAborted();
        this.assertDeclaredLength(size, options);
        await handle.sync();
      } finally {
        await handle.close();
      }
      if (options.ifNotExists) {
        try {
          await link(tmp, target); // fails if the target exists: an atomic claim
        } catch (error) {
          if (errno(error) === 'EEXIST') throw new AlreadyExistsError(`Object already exists: ${key}`);
          throw error;
        }
      } else {
        await rename(tmp, target);
      }
      return { key, size, etag: header.etag };
    } finally {
      await rm(tmp, { force: true }).catch(() => undefined); // cleanup never replaces the outcome
    }
  }

  /** Opens an object file and reads its header; the bytes follow at `offset`. */
  private async openObject(key: string) {
    let handle;
    try {
      handle = await open(this.fileOf(key), 'r');
    } catch (error) {
      if (errno(error) === 'ENOENT') throw new ObjectNotFoundError(key);
      throw error;
    }
    try {
      const probe = Buffer.alloc(MAX_HEADER_BYTES);
      const { bytesRead } = await handle.read(probe, 0, probe.length, 0);
      const end = probe.subarray(0, bytesRead).indexOf(0x0a);
      if (end < 0) throw new Error(`Object file of ${key} has no header`);
      const header = JSON.parse(probe.subarray(0, end).toString('utf8')) as Header;
      const fileStat = await handle.stat();
      const offset = end + 1;
      const info: ObjectInfo = {
        key: header.key,
        size: fileStat.size - offset,
        contentType: header.contentType,
        metadata: header.metadata,
        cacheControl: header.cacheControl,
        lastModified: fileStat.mtime,
        etag: header.etag,
      };
      return { handle, info, offset };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async get(key: string, options: GetOptions = {}): Promise<GetResult> {
    const { handle, info, offset } = await this.openObject(key);
    try {
      const range = options.range ? resolveRange(options.range, info.size) : undefined;
      if (info.size === 0 && !range) {
        await handle.close();
        return { body: toReadable(Buffer.alloc(0)), info };
      }
      const body = createReadStream('', {
        fd: handle,
        start: offset + (range?.start ?? 0),
        end: offset + (range?.end ?? info.size - 1),
        signal: options.signal,
      });
      return { body, info, range };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async head(key: string): Promise<ObjectInfo> {
    const { handle, info } = await this.openObject(key);
    await handle.close();
    return info;
  }

  async delete(key: string): Promise<void> {
    await unlink(this.fileOf(key)).catch((error: unknown) => {
      if (errno(error) !== 'ENOENT') throw error;
    });
  }

  /**
   * Reads every header to list: fine for an example and small folders. A real backend would
   * keep an index ordered by key.
   */
  async list(options: ListOptions): Promise<ListPage> {
    const prefix = options.prefix ?? '';
    const limit = Math.max(1, Math.min(options.limit ?? 1000, 1000));
    const after = options.cursor ? Buffer.from(options.cursor, 'base64url') : undefined;
    const found: ObjectInfo[] = [];
    for (const name of await readdir(this.folder('objects'))) {
      const info = await this.headOfFile(name);
      if (!info || !info.key.startsWith(prefix)) continue;
      if (after && Buffer.compare(Buffer.from(info.key), after) <= 0) continue;
      found.push(info);
    }
    found.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
    const items = found.slice(0, limit);
    const last = items.at(-1);
    return { items, cursor: found.length > limit && last ? Buffer.from(last.key).toString('base64url') : undefined };
  }

  private async headOfFile(name: string): Promise<ObjectInfo | undefined> {
    // The header names the key; reach it through head() so a concurrent delete is just "gone".
    const handle = await open(this.folder('objects', name), 'r').catch(() => undefined);
    if (!handle) return undefined;
    try {
      const probe = Buffer.alloc(MAX_HEADER_BYTES);
      const { bytesRead } = await handle.read(probe, 0, probe.length, 0);
      const end = probe.subarray(0, bytesRead).indexOf(0x0a);
      if (end < 0) return undefined;
      const { key } = JSON.parse(probe.subarray(0, end).toString('utf8')) as Header;
      return await this.head(key).catch(() => undefined);
    } finally {
      await handle.close();
    }
  }

  async copy(sourceKey: string, destinationKey: string): Promise<void> {
    const { body, info } = await this.get(sourceKey);
    await this.put(destinationKey, body, {
      contentType: info.contentType,
      metadata: info.metadata,
      cacheControl: info.cacheControl,
      contentLength: info.size,
    });
  }

  async ping(): Promise<void> {
    try {
      await access(this.folder('objects'), fsConstants.W_OK);
      if (!(await stat(this.folder('objects'))).isDirectory()) throw new Error('not a folder');
    } catch (error) {
      throw new ProviderUnavailableError(`Folder ${this.config.directory} is not usable: ${(error as Error).message}`, { cause: error });
    }
  }
}
