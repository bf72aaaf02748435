import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StorageHttpError, errors } from './errors.js';

export interface Bucket {
  id: string;
  name: string;
  owner: string;
  public: boolean;
  file_size_limit: number | null;
  allowed_mime_types: string[] | null;
  created_at: string;
  updated_at: string;
}

/** What `storage.objects.metadata` holds for a stored object (the jsonb column). */
export interface ObjectMetadata {
  eTag: string;
  size: number;
  mimetype: string;
  cacheControl: string;
  lastModified: string;
  contentLength: number;
  httpStatusCode: number;
}

export interface StoredObject {
  id: string;
  name: string;
  bucket_id: string;
  owner: string;
  version: string;
  created_at: string;
  updated_at: string;
  last_accessed_at: string;
  metadata: ObjectMetadata;
  user_metadata: Record<string, unknown> | null;
  /** Where the bytes live (one file per version, never rewritten). */
  file: string;
}

/** A body that has been received completely into a file, not yet visible as an object. */
export interface ReceivedBody {
  file: string;
  size: number;
  md5: string;
}

export interface ObjectAttributes {
  mimetype: string;
  cacheControl: string;
  userMetadata?: Record<string, unknown> | null;
  owner?: string;
}

const now = () => new Date().toISOString();

/**
 * The state of the double: buckets and the rows of `storage.objects`, with each version's bytes
 * in its own file under `root`. Objects appear only through `commit`, after their body was
 * received completely, as in the real server (the row is written when the upload finishes).
 */
export class DoubleStore {
  readonly buckets = new Map<string, Bucket>();
  private readonly objects = new Map<string, Map<string, StoredObject>>();

  constructor(readonly root: string) {}

  async init(): Promise<void> {
    await mkdir(join(this.root, 'data'), { recursive: true });
    await mkdir(join(this.root, 'incoming'), { recursive: true });
    await mkdir(join(this.root, 'resumable'), { recursive: true });
  }

  newFilePath(area: 'data' | 'incoming' | 'resumable' = 'incoming'): string {
    return join(this.root, area, randomUUID());
  }

  createBucket(input: { id: string; name?: string; public?: boolean; file_size_limit?: number | null; allowed_mime_types?: string[] | null }): Bucket {
    if (this.buckets.has(input.id)) throw errors.bucketAlreadyExists(input.id);
    const bucket: Bucket = {
      id: input.id,
      name: input.name ?? input.id,
      owner: '',
      public: Boolean(input.public),
      file_size_limit: input.file_size_limit ?? null,
      allowed_mime_types: input.allowed_mime_types ?? null,
      created_at: now(),
      updated_at: now(),
    };
    this.buckets.set(bucket.id, bucket);
    this.objects.set(bucket.id, new Map());
    return bucket;
  }

  bucket(id: string): Bucket {
    const bucket = this.buckets.get(id);
    if (!bucket) throw errors.noSuchBucket(id);
    return bucket;
  }

  async emptyBucket(id: string): Promise<void> {
    this.bucket(id);
    const rows = [...this.objectsOf(id).values()];
    this.objectsOf(id).clear();
    await Promise.all(rows.map((row) => rm(row.file, { force: true })));
  }

  deleteBucket(id: string): void {
    this.bucket(id);
    if (this.objectsOf(id).size > 0) throw errors.bucketNotEmpty(id);
    this.buckets.delete(id);
    this.objects.delete(id);
  }

  private objectsOf(bucketId: string): Map<string, StoredObject> {
    this.bucket(bucketId);
    return this.objects.get(bucketId)!;
  }

  find(bucketId: string, name: string): StoredObject | undefined {
    return this.objectsOf(bucketId).get(name);
  }

  mustFind(bucketId: string, name: string): StoredObject {
    const found = this.find(bucketId, name);
    if (!found) throw errors.noSuchKey(`${bucketId}/${name}`);
    return found;
  }

  all(bucketId: string): StoredObject[] {
    return [...this.objectsOf(bucketId).values()];
  }

  /**
   * Streams a body into a fresh file, counting and hashing it on the way; refuses it once it
   * passes `maxBytes`. On any failure the file is removed and nothing else changes.
   */
  async receive(body: Readable, maxBytes: number | null): Promise<ReceivedBody> {
    const file = this.newFilePath('incoming');
    const hash = createHash('md5');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        size += chunk.length;
        if (maxBytes !== null && size > maxBytes) return callback(errors.entityTooLarge());
        hash.update(chunk);
        callback(null, chunk);
      },
    });
    try {
      await pipeline(body, meter, createWriteStream(file, { flags: 'wx' }));
    } catch (error) {
      await rm(file, { force: true });
      throw error instanceof StorageHttpError ? error : errors.aborted(error);
    }
    return { file, size, md5: hash.digest('hex') };
  }

  /** Makes a received body visible under `name` (an upsert of the row, a new version). */
  async commit(bucketId: string, name: string, body: ReceivedBody, attributes: ObjectAttributes): Promise<StoredObject> {
    const rows = this.objectsOf(bucketId);
    const data = this.newFilePath('data');
    await rename(body.file, data);
    const previous = rows.get(name);
    const stamp = now();
    const row: StoredObject = {
      id: previous?.id ?? randomUUID(),
      name,
      bucket_id: bucketId,
      owner: attributes.owner ?? '',
      version: randomUUID(),
      created_at: previous?.created_at ?? stamp,
      updated_at: stamp,
      last_accessed_at: stamp,
      metadata: {
        eTag: `"${body.md5}"`,
        size: body.size,
        mimetype: attributes.mimetype,
        cacheControl: attributes.cacheControl,
        lastModified: new Date().toUTCString(),
        contentLength: body.size,
        httpStatusCode: 200,
      },
      user_metadata: attributes.userMetadata ?? null,
      file: data,
    };
    rows.set(name, row);
    // Open readers keep their descriptor; the old version's bytes go once they finish.
    if (previous) await rm(previous.file, { force: true });
    return row;
  }

  async copy(bucketId: string, source: string, destinationBucket: string, destination: string, attributes?: Partial<ObjectAttributes>): Promise<StoredObject> {
    const from = this.mustFind(bucketId, source);
    const staged = this.newFilePath('incoming');
    await copyFile(from.file, staged);
    return this.commit(
      destinationBucket,
      destination,
      { file: staged, size: from.metadata.size, md5: from.metadata.eTag.replaceAll('"', '') },
      {
        mimetype: attributes?.mimetype ?? from.metadata.mimetype,
        cacheControl: attributes?.cacheControl ?? from.metadata.cacheControl,
        userMetadata: attributes?.userMetadata === undefined ? from.user_metadata : attributes.userMetadata,
        owner: attributes?.owner ?? from.owner,
      },
    );
  }

  /** Renames a row (the real server moves the row and copies the bytes to the new name). */
  move(bucketId: string, source: string, destinationBucket: string, destination: string): StoredObject {
    const row = this.mustFind(bucketId, source);
    const target = this.objectsOf(destinationBucket);
    if (target.has(destination)) throw errors.keyAlreadyExists(`${destinationBucket}/${destination}`);
    this.objectsOf(bucketId).delete(source);
    const moved = { ...row, name: destination, bucket_id: destinationBucket, version: randomUUID(), updated_at: now() };
    target.set(destination, moved);
    return moved;
  }

  async remove(bucketId: string, names: string[]): Promise<StoredObject[]> {
    const rows = this.objectsOf(bucketId);
    const removed: StoredObject[] = [];
    for (const name of new Set(names)) {
      const row = rows.get(name);
      if (!row) continue;
      rows.delete(name);
      removed.push(row);
      await rm(row.file, { force: true });
    }
    return removed;
  }
}

/** The row as the API shows it (without where the double keeps the bytes). */
export function publicRow(row: StoredObject) {
  const { file: _file, ...rest } = row;
  return { ...rest, owner_id: rest.owner };
}
