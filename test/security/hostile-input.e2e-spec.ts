import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, readlink, rename, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactRegistry, InvalidKeyError, StorageProviderRegistry } from '@app/storage';
import { DATABASE_KINDS, createPgDatabase } from '../support/databases.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { signToken } from '../support/tokens.js';
import { headerCases, lyingBodyCases, multipartCases } from './hostile-bodies.js';
import { parameterCases, traversalCases, type HostileCase, type HostileContext } from './hostile-cases.js';
import { rawRequest, type RawRequest } from './hostile-http.js';

const BOARDS = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`b${i + 1}`, 'editor']));
const AUTH = `Bearer ${signToken({ sub: 'mallory', tenant: 't1', boards: BOARDS })}`;
const AUTH_T9 = `Bearer ${signToken({ sub: 'mallory', tenant: 't9', boards: BOARDS })}`;
const SEED = 'seed-bytes-0123456789';
/** Hundreds of requests per batch on a shared two-core machine. */
const BATCH_TIMEOUT = 300_000;

interface Outcome {
  category: string;
  name: string;
  status: number;
  ms: number;
  problem?: string;
}

/** Every file and folder under `dir` (symlinks not followed) with a content hash. */
async function snapshot(dir: string, skip: (path: string) => boolean): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (folder: string) => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (skip(path)) continue;
      const rel = relative(dir, path);
      if (entry.isSymbolicLink()) out[rel] = `link -> ${await readlink(path)}`;
      else if (entry.isDirectory()) {
        out[rel] = 'dir';
        await walk(path);
      } else out[rel] = `file ${createHash('sha256').update(await readFile(path)).digest('hex')}`;
    }
  };
  await walk(dir);
  return out;
}

async function namesContaining(dir: string, needle: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (folder: string) => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      if (entry.name.includes(needle)) found.push(join(folder, entry.name));
      if (entry.isDirectory() && !entry.isSymbolicLink()) await walk(join(folder, entry.name));
    }
  };
  await walk(dir);
  return found;
}

// On both registry databases: PostgreSQL refuses values SQLite stores (a NUL byte, a string over
// its column), so an input that reaches a query unchecked shows as a 500 there only.
describe.each(DATABASE_KINDS)('hostile input against the reference server on %s', (kind) => {
  let server: TestServer;
  let database: { url: string; drop: () => Promise<void> } | undefined;
  let port: number;
  let ctx: HostileContext;
  let outside: string;
  let baseline: Record<string, string>;
  const outcomes: Outcome[] = [];
  /** 5xx failures the server logged, including ones the client never saw (after headers were sent). */
  const serverErrors: string[] = [];
  const restoreWrites: Array<() => void> = [];
  /** Pending records the tests created on purpose (POST /uploads), with the PUT outcome. */
  const deliberate = new Map<string, { key: string; stored: boolean; usedBy?: string }>();

  const skipOwnFiles = (path: string) => path.startsWith(server.storageRoot) || /boards\.sqlite/.test(path);

  async function api(path: string, init: RequestInit & { auth?: string } = {}): Promise<Response> {
    return fetch(`${server.url}${path}`, { ...init, headers: { authorization: init.auth ?? AUTH, ...(init.headers as Record<string, string>) } });
  }

  async function createUpload(boardId = 'b1', size = 1000): Promise<{ artifactId: string; url: string }> {
    const response = await api('/uploads', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'text', boardId, contentType: 'text/plain', size }),
    });
    expect(response.status).toBeLessThan(300);
    const upload = (await response.json()) as { artifactId: string; url: string };
    const record = await server.app.get(ArtifactRegistry).findById(upload.artifactId);
    deliberate.set(upload.artifactId, { key: record!.storageKey, stored: false });
    return upload;
  }

  /** Every refusal, whoever makes it (Nest, a guard, Node's HTTP parser), is our JSON error. */
  function errorShapeProblem(status: number, body: Buffer): string | undefined {
    let parsed: { statusCode?: unknown; code?: unknown; message?: unknown; error?: unknown };
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return `status ${status} without a JSON error body: ${JSON.stringify(body.toString('utf8').slice(0, 80))}`;
    }
    const shaped = parsed.statusCode === status && typeof parsed.code === 'string' && typeof parsed.message === 'string' && typeof parsed.error === 'string';
    return shaped ? undefined : `status ${status} with a body of another shape: ${body.toString('utf8').slice(0, 120)}`;
  }

  function judge(c: HostileCase, status: number, body: Buffer): string | undefined {
    if (status === 0) return c.allowNoAnswer ? undefined : 'no answer';
    if (status >= 400 && status < 500) return c.request.method === 'HEAD' || c.anyErrorBody ? undefined : errorShapeProblem(status, body);
    if (c.allowSuccess?.includes(status)) return c.checkSuccess?.(body);
    return `unexpected status ${status}: ${body.toString('utf8').slice(0, 200)}`;
  }

  async function run(c: HostileCase): Promise<Outcome> {
    const started = performance.now();
    const response = await rawRequest(port, c.request);
    const ms = Math.round(performance.now() - started);
    const outcome: Outcome = { category: c.category, name: c.name, status: response.status, ms, problem: judge(c, response.status, response.body) };
    outcomes.push(outcome);
    return outcome;
  }

  /** After each batch: the server answers, nothing moved outside the root, no stray pending rows. */
  async function assertInvariants(): Promise<void> {
    const seed = await api(`/artifacts/${ctx.seedId}/content`);
    expect(seed.status).toBe(200);
    expect(await seed.text()).toBe(SEED);
    expect((await fetch(`${server.url}/health/live`)).status).toBe(200);
    let pending: string[] = [];
    for (let attempt = 0; attempt < 50; attempt++) {
      const rows = await server.app.get(ArtifactRegistry).repository.find({ where: { status: 'pending' } });
      pending = rows.map((row) => row.id).filter((id) => !deliberate.has(id));
      if (pending.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(pending, 'records left pending').toEqual([]);
    const provider = server.app.get(StorageProviderRegistry).get('local');
    for (const [id, upload] of deliberate) {
      if (upload.stored) continue;
      // A key the provider refuses to look at (it leads through a planted link) was not written
      // either: where it would have landed outside the root is covered by the snapshot below.
      const exists = async () =>
        provider.exists(upload.key).catch((error: unknown) => {
          if (error instanceof InvalidKeyError) return false;
          throw error;
        });
      // A client that reset the connection does not wait for the server's cleanup: give it time.
      let found = await exists();
      for (let attempt = 0; found && attempt < 50; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        found = await exists();
      }
      expect(found, `object of refused upload ${id} (${upload.usedBy ?? 'unused'})`).toBe(false);
    }
    expect(await snapshot(server.dir, skipOwnFiles), 'files outside the storage root').toEqual(baseline);
    expect(await namesContaining(server.dir, ctx.marker)).toEqual([]);
    expect(serverErrors, 'server-side failures logged').toEqual([]);
    expect(existsSync(join(tmpdir(), ctx.marker)) || existsSync(join('/tmp', ctx.marker))).toBe(false);
  }

  async function runBatch(cases: HostileCase[]): Promise<void> {
    const failed: Outcome[] = [];
    for (const c of cases) {
      const outcome = await run(c);
      if (outcome.problem) failed.push(outcome);
    }
    expect(failed.map((f) => `${f.name}: ${f.problem}`)).toEqual([]);
    await assertInvariants();
  }

  beforeAll(async () => {
    // The exception filter logs every 5xx ("request failed"); a mid-stream one never reaches the client.
    for (const stream of [process.stdout, process.stderr]) {
      const original = stream.write;
      stream.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
        const text = String(chunk);
        if (text.includes('request failed')) serverErrors.push(text.slice(0, 500));
        return (original as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
      } as typeof stream.write;
      restoreWrites.push(() => {
        stream.write = original;
      });
    }
    // The upload rate limit has its own tests; here it would answer 429 before the inputs are parsed.
    database = kind === 'postgres' ? await createPgDatabase() : undefined;
    server = await startTestServer({ databaseUrl: database?.url, env: { UPLOAD_RATE_LIMIT: '0' } });
    port = Number(new URL(server.url).port);
    outside = join(server.dir, 'outside');
    await mkdir(join(outside, 'leaf'), { recursive: true });
    await mkdir(join(outside, 'meta'), { recursive: true });
    await writeFile(join(outside, 'original'), 'SECRET OUTSIDE THE ROOT');
    await writeFile(join(outside, 'leaf', 'original'), 'SECRET LEAF OUTSIDE THE ROOT');
    await writeFile(join(server.dir, 'sentinel.txt'), 'sentinel');
    const seeded = await api('/artifacts?type=text&boardId=b1', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: SEED });
    expect(seeded.status).toBe(201);
    const seed = (await seeded.json()) as { id: string; storageKey: string };
    const signed = (await (await api(`/artifacts/${seed.id}/download-url`)).json()) as { url: string };
    ctx = { auth: AUTH, seedId: seed.id, seedKey: seed.storageKey, seedSignature: new URL(signed.url).search.slice(1), marker: `pwned-${randomBytes(6).toString('hex')}` };
    baseline = await snapshot(server.dir, skipOwnFiles);
  });

  afterAll(async () => {
    if (outcomes.length) {
      const table = new Map<string, Map<string, number>>();
      for (const o of outcomes) {
        const label = o.problem ? `FAILED ${o.status}` : o.status === 0 ? 'no answer (client left)' : String(o.status);
        const row = table.get(o.category) ?? new Map<string, number>();
        row.set(label, (row.get(label) ?? 0) + 1);
        table.set(o.category, row);
      }
      const lines = [...table].map(([category, row]) => {
        const total = [...row.values()].reduce((a, b) => a + b, 0);
        const parts = [...row].sort(([a], [b]) => a.localeCompare(b)).map(([label, n]) => `${label}: ${n}`);
        return `  ${category.padEnd(12)} ${String(total).padStart(5)}  (${parts.join(', ')})`;
      });
      const failures = outcomes.filter((o) => o.problem).length;
      // eslint-disable-next-line no-console
      console.log(`\nHostile input (${kind}): ${outcomes.length} requests, ${failures} failed\n${lines.join('\n')}\n`);
      const slowest = [...outcomes].sort((a, b) => b.ms - a.ms).slice(0, 8);
      // eslint-disable-next-line no-console
      const times = outcomes.map((o) => o.ms).sort((a, b) => a - b);
      // eslint-disable-next-line no-console
      console.log(`Request time: median ${times[Math.floor(times.length / 2)]} ms, p95 ${times[Math.floor(times.length * 0.95)]} ms`);
      // eslint-disable-next-line no-console
      console.log(`Slowest: ${slowest.map((o) => `${o.ms} ms ${o.name}`).join('\n  ')}`);
    }
    await server?.close();
    await database?.drop();
    for (const restore of restoreWrites) restore();
  });

  it('refuses traversal in every parameter and path segment, raw and encoded', async () => {
    const cases = traversalCases(ctx);
    expect(cases.length).toBeGreaterThan(300);
    await runBatch(cases);
  }, BATCH_TIMEOUT);

  it('refuses query parameters of unexpected shapes', async () => {
    await runBatch(parameterCases(ctx));
  }, BATCH_TIMEOUT);

  it('refuses malformed multipart forms', async () => {
    await runBatch(multipartCases(ctx));
  }, BATCH_TIMEOUT);

  it('survives bodies that lie about their length or stop halfway', async () => {
    const uploads: string[] = [];
    for (let i = 0; i < 20; i++) {
      const { artifactId, url } = await createUpload();
      uploads.push(`${new URL(url).pathname}${new URL(url).search}#${artifactId}`);
    }
    const byPath = new Map<string, string>();
    const cases = lyingBodyCases(ctx, () => {
      const [path, artifactId] = uploads.shift()!.split('#');
      byPath.set(path, artifactId);
      return path;
    });
    for (const c of cases) {
      const artifactId = byPath.get(c.request.path);
      if (artifactId) deliberate.get(artifactId)!.usedBy = c.name;
      await run(c);
    }
    // A signed PUT that succeeded legitimately stored its object: mark those uploads as stored.
    const provider = server.app.get(StorageProviderRegistry).get('local');
    for (const upload of deliberate.values()) upload.stored = upload.stored || (await provider.exists(upload.key));
    const successes = outcomes.filter((o) => o.category === 'lying-body' && o.status >= 200 && o.status < 300).map((o) => o.name);
    expect(successes.filter((name) => name.startsWith('signed PUT') && !name.includes('smaller'))).toEqual([]);
    expect(outcomes.filter((o) => o.category === 'lying-body' && o.problem).map((o) => `${o.name}: ${o.problem}`)).toEqual([]);
    await assertInvariants();
  }, BATCH_TIMEOUT);

  it('refuses huge and malformed headers, request lines and ranges', async () => {
    await runBatch(headerCases(ctx));
  }, BATCH_TIMEOUT);

  it('never reads or writes through symlinks planted inside the storage root', async () => {
    const root = server.storageRoot;
    const results: Array<[string, RawRequest, number[]?]> = [];
    const upload = (query: string, auth = AUTH): RawRequest => ({
      method: 'POST',
      path: `/artifacts?${query}`,
      headers: [['Authorization', auth], ['Content-Type', 'text/plain']],
      body: [`planted ${ctx.marker.slice(0, 3)}`],
    });
    await mkdir(join(root, 't1', 'text'), { recursive: true });
    await symlink(outside, join(root, 't1', 'text', 'b5'));
    results.push(['board folder links outside', upload('type=text&boardId=b5')]);
    await symlink(outside, join(root, 't1', 'data'));
    results.push(['type folder links outside', upload('type=data&boardId=b1')]);
    await symlink(outside, join(root, 't9'));
    results.push(['tenant folder links outside', upload('type=text&boardId=b1', AUTH_T9)]);
    await mkdir(join(root, '.boards-storage', 'meta', 't1', 'text'), { recursive: true });
    await symlink(join(outside, 'meta'), join(root, '.boards-storage', 'meta', 't1', 'text', 'b7'));
    results.push(['metadata folder links outside', upload('type=text&boardId=b7')]);

    const direct = await createUpload('b5', 10);
    results.push(['presigned PUT into a linked board folder', { method: 'PUT', path: new URL(direct.url).pathname + new URL(direct.url).search, headers: [['Content-Type', 'text/plain']], body: ['0123456789'] }]);
    const late = await createUpload('b8', 10);
    await symlink(outside, join(root, 't1', 'text', 'b8'));
    results.push(['presigned PUT after the board folder became a link', { method: 'PUT', path: new URL(late.url).pathname + new URL(late.url).search, headers: [['Content-Type', 'text/plain']], body: ['0123456789'] }]);
    results.push(['complete an upload whose bytes were refused', { method: 'POST', path: `/uploads/${direct.artifactId}/complete`, headers: [['Authorization', AUTH]] }]);

    // Reads: an artifact whose folder, then whose file, is swapped for a link out of the root.
    const swapped: Record<string, { id: string; key: string }> = {};
    for (const name of ['folder', 'file']) {
      const created = await api('/artifacts?type=text&boardId=b6', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: `inside ${name}` });
      expect(created.status).toBe(201);
      const record = (await created.json()) as { id: string; storageKey: string };
      swapped[name] = { id: record.id, key: record.storageKey };
    }
    const folderPath = join(root, swapped.folder.key, '..');
    await rename(folderPath, `${folderPath}-moved`);
    await symlink(join(outside, 'leaf'), folderPath);
    const filePath = join(root, swapped.file.key);
    await rename(filePath, `${filePath}-moved`);
    await symlink(join(outside, 'original'), filePath);
    for (const [name, { id }] of Object.entries(swapped)) {
      results.push([`content through a linked ${name}`, { method: 'GET', path: `/artifacts/${id}/content`, headers: [['Authorization', AUTH]] }]);
      const signed = (await (await api(`/artifacts/${id}/download-url`)).json()) as { url: string };
      const path = new URL(signed.url).pathname + new URL(signed.url).search;
      results.push([`signed GET through a linked ${name}`, { method: 'GET', path }]);
      results.push([`signed HEAD through a linked ${name}`, { method: 'HEAD', path }]);
      results.push([`range through a linked ${name}`, { method: 'GET', path: `/artifacts/${id}/content`, headers: [['Authorization', AUTH], ['Range', 'bytes=0-5']] }]);
      // Deleting the link itself (inside the root) is fine; the target outside must survive.
      results.push([`delete through a linked ${name}`, { method: 'DELETE', path: `/artifacts/${id}`, headers: [['Authorization', AUTH]] }, [204]]);
    }

    const failed: string[] = [];
    for (const [name, request, allowSuccess] of results) {
      const outcome = await run({ category: 'symlink', name, request, allowSuccess });
      if (outcome.problem) failed.push(`${name}: ${outcome.problem}`);
    }
    expect(failed).toEqual([]);
    expect(await readFile(join(outside, 'original'), 'utf8')).toBe('SECRET OUTSIDE THE ROOT');
    expect((await lstat(join(root, 't1', 'text', 'b5'))).isSymbolicLink()).toBe(true);
    await assertInvariants();
  }, BATCH_TIMEOUT);
});
