import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { TestingModule } from '@nestjs/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ArtifactRegistry,
  ContentMismatchError,
  ContentTypeNotAllowedError,
  IncompleteBodyError,
  InvalidKeyError,
  MemoryStorageProvider,
  ObjectNotFoundError,
  PayloadTooLargeError,
  ProviderUnavailableError,
  StorageModule,
  StorageProviderType,
  StorageService,
  getStorageProviderToken,
  readAll,
  type BodySource,
  type GetOptions,
  type GetResult,
  type PutOptions,
  type PutResult,
} from '@app/storage';
import { DATABASE_KINDS, databaseUrlFor } from '../support/databases.js';
import { createStorageTestingModule } from '../support/storage-app.js';
import { tempDir } from '../support/temp-dir.js';

const sha = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** A memory provider that fails the first `failures` writes (and `readFailures` reads) with a transient error. */
@StorageProviderType('flaky-memory')
class FlakyMemoryProvider extends MemoryStorageProvider {
  static failures = 0;
  static readFailures = 0;
  attempts = 0;
  override async get(key: string, options?: GetOptions): Promise<GetResult> {
    if (FlakyMemoryProvider.readFailures > 0) {
      FlakyMemoryProvider.readFailures--;
      throw new ProviderUnavailableError('backend hiccup on read');
    }
    return super.get(key, options);
  }
  override async put(key: string, body: BodySource, options: PutOptions): Promise<PutResult> {
    this.attempts++;
    if (FlakyMemoryProvider.failures > 0) {
      FlakyMemoryProvider.failures--;
      // Read a little, as a real backend would, before failing.
      if (body instanceof Readable) body.read(1);
      throw new ProviderUnavailableError('backend hiccup');
    }
    return super.put(key, body, options);
  }
}

function* chunks(count: number, size: number) {
  for (let i = 0; i < count; i++) yield Buffer.alloc(size, i);
}

describe.each(DATABASE_KINDS)('StorageService on %s', (kind) => {
  let moduleRef: TestingModule;
  let storage: StorageService;
  let registry: ArtifactRegistry;
  let memory: MemoryStorageProvider;
  let big: MemoryStorageProvider;
  let flaky: FlakyMemoryProvider;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const dir = await tempDir();
    const database = await databaseUrlFor(kind, dir.path);
    cleanup = async () => {
      await moduleRef?.close();
      await database.drop();
      await dir.remove();
    };
    moduleRef = await createStorageTestingModule(
      database.url,
      StorageModule.forRoot({
        defaultProvider: 'memory',
        providers: {
          memory: { type: 'memory' },
          big: { type: 'memory' },
          flaky: { type: 'flaky-memory' },
        },
        routingRules: [
          { condition: { artifactType: 'video', sizeGt: '1KB' }, provider: 'big' },
          { condition: { artifactType: 'flaky' }, provider: 'flaky' },
        ],
        maxFileSize: '64KB',
        maxFileSizeByType: { video: '1MB' },
        allowedContentTypes: ['text/plain', 'video/*', 'application/octet-stream'],
        retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 5 },
        providerTypes: [FlakyMemoryProvider],
        route: false,
      }),
    );
    storage = moduleRef.get(StorageService);
    registry = moduleRef.get(ArtifactRegistry);
    memory = moduleRef.get(getStorageProviderToken('memory'));
    big = moduleRef.get(getStorageProviderToken('big'));
    flaky = moduleRef.get(getStorageProviderToken('flaky'));
  });
  afterAll(async () => cleanup?.());
  afterEach(() => {
    FlakyMemoryProvider.failures = 0;
    FlakyMemoryProvider.readFailures = 0;
  });

  async function countObjects(provider: MemoryStorageProvider) {
    return (await provider.list({ prefix: '' })).items.length;
  }

  it('stores a Buffer, a Readable and an async iterable of unknown length', async () => {
    const bodies: [string, () => BodySource, Buffer][] = [
      ['buffer', () => Buffer.from('buffer body'), Buffer.from('buffer body')],
      ['readable', () => Readable.from([Buffer.from('readable '), Buffer.from('body')]), Buffer.from('readable body')],
      ['iterable', () => chunks(3, 1000), Buffer.concat([...chunks(3, 1000)])],
    ];
    for (const [name, body, bytes] of bodies) {
      const artifact = await storage.storeArtifact({ body: body(), artifactType: 'text', contentType: 'text/plain', tenant: 't1', boardId: 'b1', metadata: { source: name } });
      expect(artifact).toMatchObject({ status: 'ready', size: bytes.length, sha256: sha(bytes), provider: 'memory', contentType: 'text/plain', metadata: { source: name } });
      const opened = await storage.openArtifact(artifact.id);
      expect(await readAll(opened.body)).toEqual(bytes);
      expect((await memory.head(artifact.storageKey)).metadata).toEqual({ source: name });
    }
  });

  it('serves ranges', async () => {
    const artifact = await storage.storeArtifact({ body: Buffer.from('0123456789'), artifactType: 'text', contentType: 'text/plain' });
    const opened = await storage.openArtifact(artifact.id, { range: { start: 3, end: 5 } });
    expect(opened.range).toEqual({ start: 3, end: 5, total: 10 });
    expect(opened.contentLength).toBe(3);
    expect((await readAll(opened.body)).toString()).toBe('345');
  });

  it('stops a stream at the size limit and leaves no object and no record', async () => {
    const before = await countObjects(memory);
    const rows = await registry.repository.count();
    let produced = 0;
    const body = Readable.from(
      (function* () {
        for (let i = 0; i < 1000; i++) {
          produced++;
          yield Buffer.alloc(1024);
        }
      })(),
    );
    await expect(storage.storeArtifact({ body, artifactType: 'text', contentType: 'text/plain' })).rejects.toBeInstanceOf(PayloadTooLargeError);
    expect(produced).toBeLessThan(200); // stopped near 64 KiB, not after 1000 KiB
    expect(await countObjects(memory)).toBe(before);
    expect(await registry.repository.count()).toBe(rows);
  });

  it('refuses a declared length over the limit before reading anything', async () => {
    let read = false;
    const body = new Readable({
      read() {
        read = true;
        this.push(null);
      },
    });
    await expect(storage.storeArtifact({ body, artifactType: 'text', contentType: 'text/plain', contentLength: 65 * 1024 })).rejects.toBeInstanceOf(PayloadTooLargeError);
    expect(read).toBe(false);
  });

  it('applies per-type limits and routes by declared size', async () => {
    const small = await storage.storeArtifact({ body: Buffer.alloc(1000), artifactType: 'video', contentType: 'video/mp4' });
    expect(small.provider).toBe('memory');
    const large = await storage.storeArtifact({ body: Readable.from(chunks(100, 1024)), contentLength: 100 * 1024, artifactType: 'video', contentType: 'video/mp4' });
    expect(large.provider).toBe('big'); // over 1KB declared, and over the global 64KB limit but under video's 1MB
    expect(await big.exists(large.storageKey)).toBe(true);
    // Unknown length: the size rule cannot match, the default provider takes it.
    const unknown = await storage.storeArtifact({ body: Readable.from(chunks(2, 1024)), artifactType: 'video', contentType: 'video/mp4' });
    expect(unknown.provider).toBe('memory');
  });

  it('refuses a body that ends before its declared length, leaving nothing', async () => {
    const rows = await registry.repository.count();
    await expect(
      storage.storeArtifact({ body: Readable.from([Buffer.alloc(10)]), contentLength: 20, artifactType: 'text', contentType: 'text/plain' }),
    ).rejects.toBeInstanceOf(IncompleteBodyError);
    expect(await registry.repository.count()).toBe(rows);
  });

  it('checks content types and identifiers before storing', async () => {
    await expect(storage.storeArtifact({ body: Buffer.from('<b>'), artifactType: 'text', contentType: 'text/html' })).rejects.toBeInstanceOf(ContentTypeNotAllowedError);
    await expect(storage.storeArtifact({ body: Buffer.from('x'), artifactType: '../x', contentType: 'text/plain' })).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(storage.storeArtifact({ body: Buffer.from('x'), artifactType: 'text', contentType: 'text/plain', boardId: 'a/b' })).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(storage.storeArtifact({ body: Buffer.from('x'), artifactType: 'text', contentType: 'not a type' })).rejects.toBeInstanceOf(ContentTypeNotAllowedError);
  });

  it('retries a replayable body on a transient failure', async () => {
    FlakyMemoryProvider.failures = 2;
    const attempts = flaky.attempts;
    const artifact = await storage.storeArtifact({ body: Buffer.from('replayable'), artifactType: 'flaky', contentType: 'text/plain' });
    expect(flaky.attempts - attempts).toBe(3);
    expect(artifact.provider).toBe('flaky');
    expect((await readAll((await storage.openArtifact(artifact.id)).body)).toString()).toBe('replayable');
  });

  it('reopens a body given as a function on each attempt', async () => {
    FlakyMemoryProvider.failures = 1;
    let opened = 0;
    const artifact = await storage.storeArtifact({
      body: () => {
        opened++;
        return Readable.from([Buffer.from('reopened')]);
      },
      artifactType: 'flaky',
      contentType: 'text/plain',
    });
    expect(opened).toBe(2);
    expect(artifact.size).toBe(8);
  });

  it('never retries a one-shot stream, and leaves no record', async () => {
    FlakyMemoryProvider.failures = 1;
    const attempts = flaky.attempts;
    const rows = await registry.repository.count();
    await expect(
      storage.storeArtifact({ body: Readable.from([Buffer.from('once')]), artifactType: 'flaky', contentType: 'text/plain' }),
    ).rejects.toBeInstanceOf(ProviderUnavailableError);
    expect(flaky.attempts - attempts).toBe(1);
    expect(await registry.repository.count()).toBe(rows);
  });

  it('keeps a direct upload pending when the backend fails while it is completed, so that complete can be called again', async () => {
    const data = Buffer.from('direct bytes');
    const upload = await storage.createUpload({ artifactType: 'flaky', contentType: 'text/plain', size: data.length, tenant: 't1', boardId: 'b1' });
    await flaky.put(upload.artifact.storageKey, data, { contentType: 'text/plain' });
    FlakyMemoryProvider.readFailures = 10; // more than the retries
    await expect(storage.completeUpload(upload.artifactId)).rejects.toBeInstanceOf(ProviderUnavailableError);
    expect((await registry.findById(upload.artifactId))?.status).toBe('pending');
    expect(await flaky.exists(upload.artifact.storageKey)).toBe(true);

    FlakyMemoryProvider.readFailures = 0;
    expect(await storage.completeUpload(upload.artifactId)).toMatchObject({ status: 'ready', size: data.length, sha256: sha(data) });
  });

  it('ends a direct upload whose bytes contradict it: no record, no object', async () => {
    const upload = await storage.createUpload({ artifactType: 'flaky', contentType: 'text/plain', size: 5, tenant: 't1', boardId: 'b1' });
    await flaky.put(upload.artifact.storageKey, Buffer.from('not five bytes'), { contentType: 'text/plain' });
    await expect(storage.completeUpload(upload.artifactId)).rejects.toBeInstanceOf(ContentMismatchError);
    expect(await registry.findById(upload.artifactId)).toBeNull();
    expect(await flaky.exists(upload.artifact.storageKey)).toBe(false);
  });

  it('lists artifacts by tenant, board and type with a cursor', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await storage.storeArtifact({ body: Buffer.from(`n${i}`), artifactType: 'note', contentType: 'text/plain', tenant: 'lt', boardId: 'lb' })).id);
    }
    await storage.storeArtifact({ body: Buffer.from('other'), artifactType: 'note', contentType: 'text/plain', tenant: 'lt', boardId: 'other' });
    await storage.storeArtifact({ body: Buffer.from('other'), artifactType: 'note', contentType: 'text/plain', tenant: 'other', boardId: 'lb' });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await storage.listArtifacts({ tenant: 'lt', boardId: 'lb', artifactType: 'note', cursor, limit: 2 });
      seen.push(...page.items.map((item) => item.id));
      cursor = page.cursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
  });

  it('deletes: record first, then bytes; idempotent; then not found', async () => {
    const artifact = await storage.storeArtifact({ body: Buffer.from('bye'), artifactType: 'text', contentType: 'text/plain' });
    await storage.deleteArtifact(artifact.id);
    await storage.deleteArtifact(artifact.id);
    expect(await memory.exists(artifact.storageKey)).toBe(false);
    expect((await registry.findById(artifact.id))?.status).toBe('deleted');
    await expect(storage.getArtifact(artifact.id)).rejects.toBeInstanceOf(ObjectNotFoundError);
  });

  it('keeps tenants apart', async () => {
    const artifact = await storage.storeArtifact({ body: Buffer.from('mine'), artifactType: 'text', contentType: 'text/plain', tenant: 'ta' });
    await expect(storage.getArtifact(artifact.id, { tenant: 'tb' })).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(storage.deleteArtifact(artifact.id, { tenant: 'tb' })).rejects.toBeInstanceOf(ObjectNotFoundError);
    expect((await storage.getArtifact(artifact.id, { tenant: 'ta' })).id).toBe(artifact.id);
  });

  it('stores temporary artifacts under temp/ and removes a job\'s artifacts together', async () => {
    const first = await storage.storeTemporary({ body: Buffer.from('mask'), artifactType: 'image', contentType: 'application/octet-stream', tenant: 't1', jobId: 'job_1' });
    const second = await storage.storeTemporary({ body: Buffer.from('latent'), artifactType: 'image', contentType: 'application/octet-stream', tenant: 't1', jobId: 'job_1', ttlHours: 1 });
    expect(first.storageKey.startsWith('temp/t1/')).toBe(true);
    expect(first.expiresAt!.getTime()).toBeGreaterThan(Date.now() + 23 * 3600_000);
    expect(second.expiresAt!.getTime()).toBeLessThan(Date.now() + 2 * 3600_000);
    expect(await storage.deleteJobArtifacts('job_1')).toBe(2);
    expect(await memory.exists(first.storageKey)).toBe(false);
    expect(await storage.deleteJobArtifacts('job_1')).toBe(0);
  });
});
