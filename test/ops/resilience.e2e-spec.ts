import { createHash } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactRegistry, StorageResilience, type BreakerStateChange } from '@app/storage';
import { startTestServer, type TestServer } from '../support/server.js';
import { tempDir } from '../support/temp-dir.js';
import { bearer } from '../support/tokens.js';
import { scrape, valueOf } from './metrics-support.js';
import { RestartableS3rver } from './resilience-s3rver.js';

const editor = bearer({ sub: 'alice', tenant: 't1', boards: { b1: 'editor' } });
const sha = (data: string) => createHash('sha256').update(data).digest('hex');
const SECRET = 'a-test-signing-secret-0123456789';

interface Outcome {
  phase: 'up' | 'down' | 'restarted';
  status: number;
  body: string;
  id?: string;
  provider?: string;
  code?: string;
}

describe('reference server: s3rver killed and restarted under write traffic, local as the fallback', () => {
  let server: TestServer;
  let s3rver: RestartableS3rver;
  let s3dir: { path: string; remove: () => Promise<void> };
  const transitions: BreakerStateChange[] = [];

  beforeAll(async () => {
    s3dir = await tempDir('boards-s3rver-restart-');
    s3rver = new RestartableS3rver(s3dir.path, ['artifacts']);
    await s3rver.start();
    server = await startTestServer({
      storage: (dir) => ({
        defaultProvider: 's3',
        providers: {
          s3: {
            type: 's3',
            config: {
              bucket: 'artifacts',
              region: 'us-east-1',
              endpoint: s3rver.endpoint,
              force_path_style: true,
              access_key_id: 'S3RVER',
              secret_access_key: 'S3RVER',
              checksum_mode: 'when_required',
            },
            fallbacks: ['local'],
          },
          local: { type: 'local', config: { base_path: `${dir}/storage`, signing_secret: SECRET } },
        },
        maxFileSize: '10MB',
        verifyOnRead: true,
        retry: { maxAttempts: 2, initialDelayMs: 5, maxDelayMs: 20 },
        resilience: {
          timeouts: { writeIdleMs: 5000, readMs: 5000, headMs: 2000, deleteMs: 2000 },
          circuitBreaker: { consecutiveFailures: 3, halfOpenAfterMs: 1500 },
        },
      }),
    });
    server.app.get(StorageResilience).onBreakerStateChange((change) => transitions.push(change));
  });
  afterAll(async () => {
    await server?.close();
    await s3rver?.kill();
    await s3dir?.remove();
  });

  async function write(phase: Outcome['phase'], n: number): Promise<Outcome> {
    const body = `artifact ${n} ${'x'.repeat(4000)}`;
    const response = await fetch(`${server.url}/artifacts?type=text&boardId=b1`, {
      method: 'POST',
      headers: { ...editor, 'content-type': 'text/plain' },
      body,
    });
    const json = (await response.json()) as { id?: string; provider?: string; code?: string };
    return { phase, status: response.status, body, id: json.id, provider: json.provider, code: json.code };
  }

  it('keeps every write either stored (on s3 or the fallback) or cleanly refused, and recovers', async () => {
    const outcomes: Outcome[] = [];
    let phase: Outcome['phase'] = 'up';
    let running = true;
    const traffic = (async () => {
      // Bounded: at most 600 sequential writes, and it stops when the test says so.
      for (let n = 0; running && n < 600; n++) {
        outcomes.push(await write(phase, n));
        await sleep(20);
      }
    })();
    const until = async (what: string, check: () => boolean, ms = 40_000) => {
      const deadline = Date.now() + ms;
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await sleep(25);
      }
    };
    try {
      await until('writes to s3', () => outcomes.filter((o) => o.provider === 's3').length >= 3);
      phase = 'down';
      await s3rver.kill();
      await until('a write on the fallback', () => outcomes.some((o) => o.phase === 'down' && o.provider === 'local'));
      await until('the s3 breaker open', () => transitions.some((t) => t.provider === 's3' && t.state === 'open'));
      await s3rver.start(); // same port, same data
      phase = 'restarted';
      await until('a write back on s3', () => outcomes.some((o) => o.phase === 'restarted' && o.provider === 's3'));
    } finally {
      running = false;
      await traffic;
    }

    const stored = outcomes.filter((o) => o.status === 201);
    const refused = outcomes.filter((o) => o.status !== 201);
    const fallbackWrite = stored.find((o) => o.provider === 'local')!;
    // eslint-disable-next-line no-console
    console.log(
      `[fallback write] s3rver down: POST /artifacts -> 201, record ${fallbackWrite.id} names provider "${fallbackWrite.provider}" (routed to "s3", fallbacks [local])\n` +
        `[resilience] ${outcomes.length} writes: ${stored.filter((o) => o.provider === 's3').length} on s3, ${stored.filter((o) => o.provider === 'local').length} on local, ` +
        `${refused.length} refused (${[...new Set(refused.map((o) => `${o.status} ${o.code}`))].join(', ')}); breaker: ${transitions.filter((t) => t.provider === 's3').map((t) => t.state).join(' -> ')}`,
    );

    // Writes stored before the kill went to s3 (one in flight at the kill may fail); failures were clean 503/504s.
    expect(outcomes.filter((o) => o.phase === 'up' && o.status === 201).every((o) => o.provider === 's3')).toBe(true);
    for (const o of refused) {
      expect([503, 504]).toContain(o.status);
      expect(['E_PROVIDER_UNAVAILABLE', 'E_TIMEOUT']).toContain(o.code);
    }
    // One-shot request bodies fail once they reached a failing s3; once the breaker is open they go to local.
    expect(refused.length).toBeGreaterThan(0);
    expect(stored.some((o) => o.phase === 'down' && o.provider === 'local')).toBe(true);

    // The breaker opened, tested (half-open) and closed again, as configured.
    const states = transitions.filter((t) => t.provider === 's3').map((t) => t.state);
    expect(states[0]).toBe('open');
    expect(states).toContain('half_open');
    expect(states.at(-1)).toBe('closed');
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/boards_storage_circuit_breaker_state\{provider="s3",state="closed"\} 1/);

    // No record points at missing bytes: every stored artifact reads back whole from where its record says.
    const registry = server.app.get(ArtifactRegistry);
    for (const o of stored) {
      const record = await registry.findById(o.id!);
      expect(record).toMatchObject({ status: 'ready', provider: o.provider, sha256: sha(o.body) });
      const content = await fetch(`${server.url}/artifacts/${o.id}/content`, { headers: editor });
      expect(content.status).toBe(200);
      expect(await content.text()).toBe(o.body);
    }
    // And no refused write left a record behind.
    expect(await registry.repository.count({ where: { status: 'ready' } })).toBe(stored.length);
    expect(await registry.repository.count({ where: { status: 'pending' } })).toBe(0);
  }, 120_000);
});

describe('reference server: verify_on_read', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      storage: (dir) => ({
        defaultProvider: 'local',
        providers: { local: { type: 'local', config: { base_path: `${dir}/storage`, signing_secret: SECRET } } },
        verifyOnRead: true,
      }),
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('cuts the response of a corrupted object short of its Content-Length, and counts it', async () => {
    const text = 'the bytes as they were stored '.repeat(4000); // several chunks
    const created = await (
      await fetch(`${server.url}/artifacts?type=text&boardId=b1`, { method: 'POST', headers: { ...editor, 'content-type': 'text/plain' }, body: text })
    ).json();
    const intact = await fetch(`${server.url}/artifacts/${created.id}/content`, { headers: editor });
    expect(await intact.text()).toBe(text);

    const tampered = text.slice(0, -5) + 'EVIL!'; // same length, last bytes changed
    await writeFile(`${server.dir}/storage/${created.storageKey}`, tampered);
    const response = await fetch(`${server.url}/artifacts/${created.id}/content`, { headers: editor });
    expect(response.status).toBe(200); // headers went out before the end of the body was checked
    expect(Number(response.headers.get('content-length'))).toBe(text.length);
    const received = await response.text().then(
      (body) => ({ ok: true as const, body }),
      (error: Error) => ({ ok: false as const, error }),
    );
    // The client never gets the whole tampered body: the connection is cut before the last chunk.
    expect(received.ok).toBe(false);

    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/boards_storage_errors_total\{[^}]*code="E_CORRUPTION"[^}]*\} 1/);
  });
});

describe('reference server: a local provider whose root is removed, with a fallback', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      storage: (dir) => ({
        defaultProvider: 'main',
        providers: {
          main: { type: 'local', config: { base_path: `${dir}/main`, signing_secret: SECRET }, fallbacks: ['archive'] },
          archive: { type: 'local', config: { base_path: `${dir}/archive`, signing_secret: SECRET } },
        },
        // The default breaker: 5 faults in a row open it.
      }),
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  const post = (body: string) =>
    fetch(`${server.url}/artifacts?type=text&boardId=b1`, { method: 'POST', headers: { ...editor, 'content-type': 'text/plain' }, body });
  const breaker = async (state: string) => valueOf((await scrape(server.url)).samples, 'boards_storage_circuit_breaker_state', { provider: 'main', state });

  it('opens the breaker after consecutive failed writes (their cleanup deletes succeed), then writes go to the fallback', async () => {
    expect((await post('before')).status).toBe(201);
    await rm(`${server.dir}/main`, { recursive: true, force: true });
    // A request body is one-shot: each write fails once on main, then its key is cleaned up, which
    // succeeds on a missing folder. That success must not reset the count of write faults.
    for (let i = 0; i < 5; i++) {
      const response = await post(`lost ${i}`);
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ code: 'E_PROVIDER_UNAVAILABLE' });
    }
    expect(await breaker('open')).toBe(1);
    expect(server.app.get(StorageResilience).state('main')).toBe('open');

    const retried = await post('retried by the client');
    expect(retried.status).toBe(201);
    const artifact = await retried.json();
    expect(artifact.provider).toBe('archive');
    const read = await fetch(`${server.url}/artifacts/${artifact.id}/content`, { headers: editor });
    expect(await read.text()).toBe('retried by the client');
  });
});
