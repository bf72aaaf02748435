import { randomUUID } from 'node:crypto';
import { constants as fsConstants, createReadStream, type Stats } from 'node:fs';
import { type FileHandle, link, lstat, mkdir, open, readdir, readFile, realpath, rename, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable } from '@nestjs/common';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsNotEmpty, IsOptional, IsString, ValidateNested } from 'class-validator';
import type {
  BodySource,
  GetOptions,
  GetResult,
  ListOptions,
  ListPage,
  ObjectInfo,
  ProviderCapabilities,
  ProviderContext,
  PutOptions,
  PutResult,
} from '../../contract/index.js';
import { StorageProviderType } from '../../contract/index.js';
import { EnvelopeEncryption, LocalEncryptionConfig, type StoredEnvelope } from '../../encryption/index.js';
import {
  AlreadyExistsError,
  ConfigurationError,
  CorruptionError,
  EncryptionKeyUnavailableError,
  InsufficientStorageError,
  InvalidKeyError,
  ObjectNotFoundError,
  ProviderUnavailableError,
  StorageError,
} from '../../errors/index.js';
import { resolveRange, toReadable } from '../../streams/index.js';
import { booleanish } from '../../config/coerce.js';
import { CONFIG_CHECK } from '../../config/validate.js';
import { IsSize, parseSize } from '../../config/size.js';
import { FileSink } from './file-sink.js';
import { SELF_SERVED_CAPABILITIES, SelfServedConfig, SelfServedProvider } from '../self-served.provider.js';

export class LocalProviderConfig extends SelfServedConfig {
  /** Folder that holds the objects (created if missing). */
  @IsString() @IsNotEmpty() base_path!: string;
  /** Base of public URLs for objects served by a web server or CDN (optional). */
  @IsOptional() @IsString() @IsNotEmpty() public_url_base?: string;
  /** fsync each object before publishing it (default true; false trades durability for speed). */
  @Transform(booleanish) @IsOptional() @IsBoolean() fsync?: boolean;
  /**
   * With fsync, flush written bytes to the disk each time this many more have been written
   * (default "4MB"; 0 flushes only at the end). Keeps the final fsync of a large object short.
   */
  @IsOptional() @IsSize() fsync_interval?: number | string;
  /**
   * Bytes of a body buffered while a write to the file is in flight; they go out together in the
   * next writev (default "1MB"). Memory per upload in progress, against fewer and larger writes.
   */
  @IsOptional() @IsSize() write_buffer?: number | string;
  /** Envelope encryption at rest of new objects (docs/encryption.md). */
  @IsOptional() @ValidateNested() @Type(() => LocalEncryptionConfig) encryption?: LocalEncryptionConfig;

  static override [CONFIG_CHECK](config: LocalProviderConfig, path: string): string[] {
    const problems = super[CONFIG_CHECK](config, path);
    // A nested block is checked by its own class (when it is one: else @ValidateNested has said so).
    if (config.encryption instanceof LocalEncryptionConfig) problems.push(...LocalEncryptionConfig[CONFIG_CHECK](config.encryption, `${path}.encryption`));
    return problems;
  }
}

/** Default of `fsync_interval`: 4 MiB. */
const DEFAULT_FSYNC_INTERVAL = 4 * 1024 * 1024;
/** Default of `write_buffer`: 1 MiB. */
const DEFAULT_WRITE_BUFFER = 1024 * 1024;
/** Open flags of a file that must not exist yet (temp files). */
const CREATE_NEW = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL;

/** Internal folder under the root: temp files and metadata sidecars. Keys may not enter it. */
export const LOCAL_INTERNAL_DIR = '.boards-storage';

interface Sidecar {
  contentType: string;
  metadata: Record<string, string>;
  cacheControl?: string;
  size: number;
  /** Inode of the data file this sidecar describes (kept across rename). */
  ino: number;
  etag: string;
  /** Present when the data file is encrypted: the wrapped data key (`size` is then the file's size). */
  encryption?: StoredEnvelope;
}

/**
 * A sidecar as stored. An overwrite writes the new file's sidecar before it renames the file into
 * place, and keeps there the description of the file being replaced: until the rename, and after a
 * crash before it, the data still on disk keeps its content type, metadata and (when encrypted)
 * its data key.
 */
interface StoredSidecar extends Sidecar {
  previous?: Sidecar;
}

/** The stored sidecar with `envelope` on the entry that is `described` (same inode and etag); undefined if none is. */
function withEnvelope(stored: StoredSidecar | undefined, described: Sidecar, envelope: StoredEnvelope): StoredSidecar | undefined {
  const same = (entry: Sidecar | undefined) => entry !== undefined && entry.ino === described.ino && entry.etag === described.etag;
  if (!stored) return undefined;
  if (same(stored)) return { ...stored, encryption: envelope };
  if (same(stored.previous)) return { ...stored, previous: { ...stored.previous!, encryption: envelope } };
  return undefined;
}

/**
 * The entry of a stored sidecar that describes this data file: same inode and, unless `sameSize`
 * is false, same size. (A file changed in place keeps its inode: its entry, and for an encrypted
 * file its data key, still apply, and decryption then reports the damage.)
 */
function describing(stored: StoredSidecar | undefined, file: Pick<Stats, 'ino' | 'size'>, sameSize = true): Sidecar | undefined {
  for (const entry of [stored, stored?.previous]) {
    if (entry && entry.ino === file.ino && (!sameSize || entry.size === file.size)) {
      const { previous: _replaced, ...sidecar } = entry as StoredSidecar;
      return sidecar;
    }
  }
  return undefined;
}

/**
 * `mkdir -p`, again when a folder on the way vanished meanwhile: a delete of another key removes
 * the folders it emptied, which can happen between two steps of `mkdir -p`. Returns the first
 * folder created, as mkdir does.
 */
async function makeFolder(folder: string): Promise<string | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await mkdir(folder, { recursive: true });
    } catch (error) {
      // Racing a removal, mkdir -p can also report EEXIST or ENOTDIR for a folder on its way
      // (it found the name, then not the folder). A file really in the way fails every time.
      if (!['ENOENT', 'EEXIST', 'ENOTDIR'].includes(errno(error) ?? '') || attempt >= 5) throw error;
    }
  }
}

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * The real path of a folder under `base`, or of its nearest existing ancestor when it does not
 * exist yet (up to `base` itself: a vanished storage root is the volume's problem, reported by the
 * write that follows and by the health check, not a key leading elsewhere).
 */
async function nearestRealFolder(folder: string, base: string): Promise<string> {
  for (let current = folder; ; current = dirname(current)) {
    try {
      return await realpath(current);
    } catch (error) {
      const code = errno(error);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
      if (current === base || dirname(current) === current) return base;
    }
  }
}

/**
 * Local filesystem provider. Objects are plain files at `base_path/<key>`; metadata lives in a
 * sidecar under `base_path/.boards-storage/meta`. Writes stream to a temp file inside the root,
 * are fsynced, then renamed (or hard-linked for create-only) into place, so a reader never sees
 * a partial file and a crash leaves none under a real key.
 */
@Injectable()
@StorageProviderType('local', { config: LocalProviderConfig })
export class LocalStorageProvider extends SelfServedProvider<LocalProviderConfig> {
  readonly capabilities: ProviderCapabilities = {
    ...SELF_SERVED_CAPABILITIES,
    publicUrl: 'only when public_url_base is configured and served by a web server',
  };

  private root!: string;
  /** `fsync` as configured (default true). */
  private fsync = true;
  /** Bytes between the flushes that run while an object is written (0: only the final fsync). */
  private syncEvery = DEFAULT_FSYNC_INTERVAL;
  /** Bytes buffered while a file write is in flight. */
  private writeBuffer = DEFAULT_WRITE_BUFFER;
  /** Set when `encryption` is configured: new objects are sealed, old ones still open. */
  private encryption?: EnvelopeEncryption;
  /**
   * Per key, the step in progress that changes which file and sidecar entry the key names
   * (publishing a write, rewriting a sidecar, deleting): these run one at a time per key in this
   * process, so an overwrite always keeps the entry of the file it really replaces.
   */
  private readonly keySteps = new Map<string, Promise<unknown>>();

  override async initialize(context: ProviderContext<LocalProviderConfig>): Promise<void> {
    await super.initialize(context);
    await mkdir(resolve(context.config.base_path), { recursive: true });
    this.root = await realpath(resolve(context.config.base_path));
    await mkdir(this.internal('tmp'), { recursive: true });
    await mkdir(this.internal('meta'), { recursive: true });
    if (context.config.public_url_base) this.capabilities.publicUrl = true;
    this.fsync = context.config.fsync !== false;
    this.syncEvery = parseSize(context.config.fsync_interval) ?? DEFAULT_FSYNC_INTERVAL;
    this.writeBuffer = parseSize(context.config.write_buffer) ?? DEFAULT_WRITE_BUFFER;
    if (context.config.encryption) {
      this.encryption = EnvelopeEncryption.fromConfig(context.config.encryption, `providers.${context.name}.config.encryption`);
    }
  }

  private internal(...parts: string[]): string {
    return join(this.root, LOCAL_INTERNAL_DIR, ...parts);
  }

  /** Absolute path of a key, refusing the internal folder and anything outside the root. */
  private pathOf(key: string): string {
    if (key === LOCAL_INTERNAL_DIR || key.startsWith(`${LOCAL_INTERNAL_DIR}/`)) {
      throw new InvalidKeyError(`Keys under "${LOCAL_INTERNAL_DIR}/" are reserved by the local provider`);
    }
    const path = resolve(this.root, key);
    const rel = relative(this.root, path);
    if (!rel || rel.startsWith('..') || rel.split(sep).includes('..')) {
      throw new InvalidKeyError('Key resolves outside the storage root');
    }
    return path;
  }

  private metaPathOf(key: string): string {
    return this.internal('meta', `${key}.json`);
  }

  /** Resolves symlinks in the folder of `path` and refuses any that lead out of the root. */
  private async assertContained(path: string): Promise<void> {
    // Check the nearest folder that exists: `mkdir -p` would otherwise follow a planted link and
    // create folders outside the root before the link is noticed.
    const real = await nearestRealFolder(dirname(path), this.root);
    if (real !== this.root && !real.startsWith(this.root + sep)) {
      await this.assertRootPresent();
      throw new InvalidKeyError('Key leads through a symbolic link out of the storage root');
    }
  }

  /** A vanished or replaced root is an unavailable backend (503), not a hostile key. */
  private async assertRootPresent(): Promise<void> {
    let real: string | undefined;
    try {
      real = await realpath(this.root);
    } catch {
      real = undefined;
    }
    if (real !== this.root) throw new ProviderUnavailableError(`Storage root ${this.root} is missing or was replaced`);
  }

  /**
   * Sidecars and temp files live under the internal folder: refuse one whose folder was replaced by
   * a symbolic link leading elsewhere (writing or deleting through it would touch files outside).
   */
  private async assertInternal(path: string): Promise<void> {
    // Check the nearest folder that exists: `mkdir -p` would otherwise follow a planted link and
    // create folders outside the root before the link is noticed.
    const internal = join(this.root, LOCAL_INTERNAL_DIR);
    const real = await nearestRealFolder(dirname(path), internal);
    if (real !== internal && !real.startsWith(internal + sep)) {
      await this.assertRootPresent();
      throw new InvalidKeyError('Key leads through a symbolic link out of the storage root');
    }
  }

  /** Creates the folders of `path`; returns the first folder it had to create, if any. */
  private async ensureParent(path: string): Promise<string | undefined> {
    await this.assertContained(path);
    let created: string | undefined;
    try {
      created = await makeFolder(dirname(path));
    } catch (error) {
      if (errno(error) === 'ENOTDIR' || errno(error) === 'EEXIST') {
        throw (await this.brokenRoot(error)) ?? new AlreadyExistsError('An object already exists where this key needs a folder', { cause: error });
      }
      throw error;
    }
    await this.assertContained(path);
    return created;
  }

  /**
   * With fsync, makes the names durable: fsyncs the folder that holds `path` and, when folders
   * were created for it (from `firstCreated` down), the folder that holds each of them. Without
   * this a crash could lose a rename the registry already counts on.
   */
  private async syncFolders(path: string, firstCreated?: string): Promise<void> {
    if (!this.fsync) return;
    const folders = [dirname(path)];
    if (firstCreated) {
      for (let folder = dirname(path); folder !== dirname(firstCreated) && folder.startsWith(this.root); folder = dirname(folder)) {
        folders.push(dirname(folder));
      }
    }
    for (const folder of folders) {
      const handle = await open(folder, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
  }

  /** ProviderUnavailableError when the storage root itself is missing or not a folder. */
  private async brokenRoot(cause: unknown): Promise<ProviderUnavailableError | undefined> {
    const root = await stat(this.root).catch(() => undefined);
    if (root?.isDirectory()) return undefined;
    return new ProviderUnavailableError(`Storage root ${this.root} is missing or not a folder`, { cause });
  }

  /**
   * Runs a step that puts a name in `path`'s folder. A delete of the last object in that folder
   * removes the folder (outside any per-key order, since it is another key's); if that happened
   * since the folder was made, the folder is made again and the step retried.
   */
  private async inFolderOf<T>(path: string, step: () => Promise<T>, internal = false): Promise<T> {
    const check = (folder: string) => (internal ? this.assertInternal(folder) : this.assertContained(folder));
    for (let attempt = 1; ; attempt++) {
      try {
        return await step();
      } catch (error) {
        if (errno(error) !== 'ENOENT' || attempt >= 3) throw error;
        await check(path);
        await makeFolder(dirname(path));
        await check(path);
      }
    }
  }

  private async mapWriteError(error: unknown): Promise<unknown> {
    if (error instanceof StorageError) return error;
    const broken = errno(error) === 'ENOTDIR' || errno(error) === 'ENOENT' ? await this.brokenRoot(error) : undefined;
    if (broken) return broken;
    switch (errno(error)) {
      case 'ENOSPC':
      case 'EDQUOT':
        return new InsufficientStorageError('No space left on the storage volume', { cause: error });
      case 'EISDIR':
        return new AlreadyExistsError('A folder of other objects already exists at this key', { cause: error });
      case 'ENOTDIR':
        return new AlreadyExistsError('An object already exists where this key needs a folder', { cause: error });
      case 'EACCES':
      case 'EROFS':
        return new ProviderUnavailableError('The storage volume refused the write', { cause: error });
      default:
        return error;
    }
  }

  async put(key: string, body: BodySource, options: PutOptions): Promise<PutResult> {
    body = this.verifiedBody(body, options);
    const target = this.pathOf(key);
    const tmp = this.internal('tmp', randomUUID());
    const sealing = this.encryption?.seal();
    let tmpStat: Stats;
    try {
      const createdFolder = await this.ensureParent(target);
      await this.assertInternal(tmp);
      const source = sealing ? Readable.from(sealing.encrypt(toReadable(body)), { objectMode: false }) : toReadable(body);
      tmpStat = await this.writeTemp(tmp, source, options.signal);
      this.assertDeclaredLength(sealing ? sealing.plaintextBytes : tmpStat.size, options);
      const etag = `"${tmpStat.ino.toString(16)}-${tmpStat.size.toString(16)}-${Math.floor(tmpStat.mtimeMs).toString(16)}"`;
      const sidecar: Sidecar = {
        contentType: options.contentType,
        metadata: options.metadata ?? {},
        cacheControl: options.cacheControl,
        size: tmpStat.size,
        ino: tmpStat.ino,
        etag,
        encryption: sealing?.envelope,
      };
      await this.oneAtATime(key, async () => {
        if (options.ifNotExists) {
          // link() fails if the target exists: an atomic create-only claim.
          try {
            await this.inFolderOf(target, () => link(tmp, target));
          } catch (error) {
            if (errno(error) === 'EEXIST') throw new AlreadyExistsError(`Object already exists: ${key}`);
            throw error;
          }
          await this.writeSidecar(key, sidecar);
        } else {
          // Sidecar first, still describing the file it replaces: a reader finds the entry for the
          // file it opened (by inode) before and after the rename, and so does one after a crash.
          await this.writeSidecar(key, { ...sidecar, previous: await this.currentDescription(key, target) });
          await this.inFolderOf(target, () => rename(tmp, target));
        }
      });
      await this.syncFolders(target, createdFolder);
      return { key, size: sealing ? sealing.plaintextBytes : tmpStat.size, etag };
    } catch (error) {
      throw await this.mapWriteError(error);
    } finally {
      // Cleanup must not replace the outcome (on a broken root, rm fails too).
      await rm(tmp, { force: true }).catch(() => undefined);
    }
  }

  /**
   * Streams a body into a new temp file (chunks that queue up go out in one writev), syncing
   * in steps as it goes and fsyncing at the end unless `fsync: false`: the rename that follows
   * must never publish bytes a crash could still lose.
   */
  private async writeTemp(tmp: string, source: Readable, signal?: AbortSignal): Promise<Stats> {
    const handle = await open(tmp, CREATE_NEW, 0o644);
    const sink = new FileSink(handle, { fsync: this.fsync, syncEvery: this.syncEvery, highWaterMark: this.writeBuffer });
    try {
      await pipeline(source, sink, { signal });
      return await handle.stat();
    } finally {
      await sink.idle();
      await handle.close();
    }
  }

  /** Runs `step` once the steps already queued for `key` in this process are done. */
  private async oneAtATime<T>(key: string, step: () => Promise<T>): Promise<T> {
    const queued = this.keySteps.get(key) ?? Promise.resolve();
    const running = queued.then(step, step);
    const settled = running.then(
      () => undefined,
      () => undefined,
    );
    this.keySteps.set(key, settled);
    try {
      return await running;
    } finally {
      if (this.keySteps.get(key) === settled) this.keySteps.delete(key);
    }
  }

  /** The sidecar entry of the data file now at `target`, if there is one. */
  private async currentDescription(key: string, target: string): Promise<Sidecar | undefined> {
    let current: Stats;
    try {
      current = await lstat(target);
    } catch (error) {
      if (errno(error) === 'ENOENT' || errno(error) === 'ENOTDIR') return undefined;
      throw error;
    }
    return current.isFile() ? describing(await this.readSidecar(key), current, false) : undefined;
  }

  private async writeSidecar(key: string, sidecar: StoredSidecar): Promise<void> {
    const path = this.metaPathOf(key);
    await this.assertInternal(path);
    const created = await makeFolder(dirname(path));
    await this.assertInternal(path);
    const tmp = this.internal('tmp', `${randomUUID()}.json`);
    await this.assertInternal(tmp);
    try {
      const handle = await open(tmp, CREATE_NEW, 0o644);
      try {
        await handle.writeFile(JSON.stringify(sidecar));
        if (this.fsync) await handle.sync();
      } finally {
        await handle.close();
      }
      await this.inFolderOf(path, () => rename(tmp, path), true);
      await this.syncFolders(path, created);
    } finally {
      await rm(tmp, { force: true }).catch(() => undefined);
    }
  }

  private async readSidecar(key: string): Promise<StoredSidecar | undefined> {
    try {
      await this.assertInternal(this.metaPathOf(key));
      const text = await readFile(this.metaPathOf(key), { encoding: 'utf8', flag: fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW });
      return JSON.parse(text) as StoredSidecar;
    } catch (error) {
      if (errno(error) === 'ELOOP') throw new InvalidKeyError('Key metadata is a symbolic link');
      if (errno(error) === 'ENOENT' || errno(error) === 'ENOTDIR' || error instanceof SyntaxError) return undefined;
      throw error;
    }
  }

  /**
   * Opens the data file and finds the sidecar that describes exactly that file (same inode).
   * A concurrent overwrite can swap them between the two reads; retry briefly until they agree.
   */
  private async openConsistent(key: string) {
    const path = this.pathOf(key);
    await this.assertContained(path);
    for (let attempt = 0; ; attempt++) {
      let handle;
      try {
        handle = await open(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
      } catch (error) {
        const code = errno(error);
        if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') throw new ObjectNotFoundError(key);
        if (code === 'ELOOP') throw new InvalidKeyError('Key is a symbolic link');
        throw error;
      }
      const fileStat = await handle.stat();
      if (!fileStat.isFile()) {
        await handle.close();
        throw new ObjectNotFoundError(key);
      }
      // A concurrent overwrite settles within the retries; after them, an entry for this inode
      // whatever its size (a file damaged in place).
      const stored = await this.readSidecar(key);
      const matched = describing(stored, fileStat) ?? (attempt >= 20 ? describing(stored, fileStat, false) : undefined);
      if (matched || attempt >= 20) {
        try {
          return { handle, info: this.infoOf(key, fileStat, matched), sidecar: matched, fileSize: fileStat.size };
        } catch (error) {
          await handle.close();
          throw error;
        }
      }
      await handle.close();
      await sleep(5);
    }
  }

  private infoOf(key: string, fileStat: Stats, sidecar: Sidecar | undefined): ObjectInfo {
    return {
      key,
      // An encrypted file's size gives its plaintext size exactly (fixed frame layout).
      size: sidecar?.encryption ? EnvelopeEncryption.plaintextSize(fileStat.size, sidecar.encryption) : fileStat.size,
      contentType: sidecar?.contentType ?? 'application/octet-stream',
      metadata: sidecar?.metadata ?? {},
      cacheControl: sidecar?.cacheControl,
      lastModified: fileStat.mtime,
      etag: sidecar?.etag,
    };
  }

  async get(key: string, options: GetOptions = {}): Promise<GetResult> {
    const { handle, info, sidecar, fileSize } = await this.openConsistent(key);
    try {
      const range = options.range ? resolveRange(options.range, info.size) : undefined;
      if (sidecar?.encryption || this.encryption) {
        const decrypted = await this.openSealed(handle, key, fileSize, sidecar?.encryption, range, options.signal);
        if (decrypted) return { body: decrypted, info, range };
      }
      const body = createReadStream('', {
        fd: handle,
        start: range?.start,
        end: range?.end,
        autoClose: true,
        signal: options.signal,
      });
      return { body, info, range };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** The decrypting stream of an encrypted object; undefined for a plaintext one (stored before encryption was enabled). */
  private async openSealed(
    handle: FileHandle,
    key: string,
    fileSize: number,
    envelope: StoredEnvelope | undefined,
    range: { start: number; end: number } | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Readable | undefined> {
    if (!envelope) {
      // An encrypted file whose envelope was lost must fail, not be served as if it were plaintext.
      const head = Buffer.alloc(EnvelopeEncryption.MAGIC_BYTES);
      const { bytesRead } = await handle.read(head, 0, head.length, 0);
      if (EnvelopeEncryption.looksEncrypted(head.subarray(0, bytesRead))) throw new CorruptionError(`Encrypted object ${JSON.stringify(key)} has no key envelope`);
      return undefined;
    }
    if (!this.encryption) {
      throw new EncryptionKeyUnavailableError(
        `Object ${JSON.stringify(key)} is encrypted (master key "${envelope.keyId}") but providers.${this.name}.config.encryption is not configured`,
      );
    }
    return this.encryption.open(handle, fileSize, envelope, key, range, signal);
  }

  async head(key: string): Promise<ObjectInfo> {
    const { handle, info } = await this.openConsistent(key);
    await handle.close();
    return info;
  }

  /**
   * Re-wraps the data key of every encrypted object (under `prefix`) with the active master key.
   * Only metadata sidecars are rewritten, never the data: run after adding a new active key, then
   * retire the old one once `rewrapped` reaches zero on a second run.
   */
  async rewrapKeys(options: { prefix?: string } = {}): Promise<Record<'rewrapped' | 'current' | 'plaintext', number>> {
    const counts = { rewrapped: 0, current: 0, plaintext: 0 };
    let cursor: string | undefined;
    do {
      const page = await this.list({ prefix: options.prefix, cursor, limit: 1000 });
      for (const item of page.items) counts[await this.rewrapKey(item.key)]++;
      cursor = page.cursor;
    } while (cursor);
    return counts;
  }

  /** Re-wraps one object's data key with the active master key (its sidecar only). */
  async rewrapKey(key: string): Promise<'rewrapped' | 'current' | 'plaintext'> {
    if (!this.encryption) throw new ConfigurationError(`providers.${this.name}.config.encryption is not configured: nothing to re-wrap with`);
    const { handle, sidecar } = await this.openConsistent(key);
    try {
      if (!sidecar?.encryption) return 'plaintext';
      const envelope = await this.encryption.rewrap(handle, sidecar.encryption, key);
      if (!envelope) return 'current';
      const rewritten = await this.oneAtATime(key, async () => {
        // The entry for this very file gets the new envelope, whether it is the sidecar's current
        // one or the one an interrupted overwrite kept. An overwrite that went through meanwhile
        // already used the active key: never put an old envelope back on it.
        const stored = await this.readSidecar(key);
        const updated = withEnvelope(stored, sidecar, envelope);
        if (updated) await this.writeSidecar(key, updated);
        return updated !== undefined;
      });
      return rewritten ? 'rewrapped' : 'current';
    } finally {
      await handle.close();
    }
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    await this.assertContained(path);
    await this.assertInternal(this.metaPathOf(key));
    const removed = await this.oneAtATime(key, async () => {
      try {
        const found = await lstat(path);
        if (found.isDirectory()) return false; // a folder of other keys, not an object
        await unlink(path);
      } catch (error) {
        if (errno(error) !== 'ENOENT' && errno(error) !== 'ENOTDIR') throw error;
      }
      await rm(this.metaPathOf(key), { force: true });
      return true;
    });
    if (!removed) return;
    await this.pruneEmptyFolders(dirname(path), this.root);
    await this.pruneEmptyFolders(dirname(this.metaPathOf(key)), this.internal('meta'));
  }

  private async pruneEmptyFolders(folder: string, stopAt: string): Promise<void> {
    while (folder.startsWith(stopAt + sep)) {
      try {
        await rmdir(folder);
      } catch {
        return; // not empty (or already gone): stop
      }
      folder = dirname(folder);
    }
  }

  async list(options: ListOptions): Promise<ListPage> {
    const prefix = options.prefix ?? '';
    const limit = Math.max(1, Math.min(options.limit ?? 1000, 1000));
    const after = options.cursor ? Buffer.from(options.cursor, 'base64url').toString('utf8') : undefined;
    const items: ObjectInfo[] = [];
    // Walk only the folder the prefix names; entries sorted so keys come in byte order.
    const slash = prefix.lastIndexOf('/');
    const startFolder = slash >= 0 ? prefix.slice(0, slash) : '';
    let more = false;
    const walk = async (folderKey: string): Promise<boolean> => {
      let entries;
      try {
        entries = await readdir(folderKey ? join(this.root, folderKey) : this.root, { withFileTypes: true });
      } catch (error) {
        if (errno(error) === 'ENOENT' || errno(error) === 'ENOTDIR') return true;
        throw error;
      }
      const sorted = entries
        .filter((entry) => !(folderKey === '' && entry.name === LOCAL_INTERNAL_DIR))
        .map((entry) => ({ entry, sortKey: Buffer.from(entry.isDirectory() ? `${entry.name}/` : entry.name) }))
        .sort((a, b) => Buffer.compare(a.sortKey, b.sortKey));
      for (const { entry } of sorted) {
        const key = folderKey ? `${folderKey}/${entry.name}` : entry.name;
        if (entry.isDirectory()) {
          const asFolder = `${key}/`;
          // Skip folders entirely before the cursor or outside the prefix.
          if (after && Buffer.compare(Buffer.from(asFolder), Buffer.from(after)) < 0 && !after.startsWith(asFolder)) continue;
          if (!asFolder.startsWith(prefix) && !prefix.startsWith(asFolder)) continue;
          if (!(await walk(key))) return false;
        } else if (entry.isFile()) {
          if (!key.startsWith(prefix)) continue;
          if (after && Buffer.compare(Buffer.from(key), Buffer.from(after)) <= 0) continue;
          if (items.length === limit) {
            more = true;
            return false;
          }
          try {
            items.push(await this.head(key));
          } catch (error) {
            if (!(error instanceof ObjectNotFoundError)) throw error; // deleted meanwhile
          }
        }
      }
      return true;
    };
    await walk(startFolder);
    const last = items.at(-1);
    return { items, cursor: more && last ? Buffer.from(last.key).toString('base64url') : undefined };
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

  override publicUrl(key: string): string | undefined {
    const base = this.config.public_url_base?.replace(/\/+$/, '');
    return base ? `${base}/${key.split('/').map(encodeURIComponent).join('/')}` : undefined;
  }

  async ping(): Promise<void> {
    const probe = this.internal('tmp', `ping-${randomUUID()}`);
    try {
      await writeFile(probe, '');
      await stat(probe);
    } catch (error) {
      throw new ProviderUnavailableError(`Storage root ${this.root} is not writable: ${(error as Error).message}`, { cause: error });
    } finally {
      // Cleanup must not replace the reason: on a broken root, rm fails too (ENOTDIR, EROFS).
      await rm(probe, { force: true }).catch(() => undefined);
    }
  }
}
