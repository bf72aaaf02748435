import { rename } from 'node:fs/promises';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PG_ADMIN_URL, createPgDatabase } from '../support/databases.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { probe, printTransition } from './health-support.js';

/**
 * Readiness against backends that really stop: a local provider whose root disappears (and
 * comes back), and the PostgreSQL registry refusing connections. Liveness never moves.
 */
describe('health endpoints: local providers', () => {
  let server: TestServer;
  const roots = (dir: string) => ({ main: `${dir}/main-root`, archive: `${dir}/archive-root` });

  beforeAll(async () => {
    server = await startTestServer({
      env: { HEALTH_TIMEOUT_MS: '15000' }, // no check here is about time; a loaded machine must not fail them
      storage: (dir) => ({
        defaultProvider: 'main',
        providers: {
          main: { type: 'local', config: { base_path: roots(dir).main, signing_secret: 'a-test-signing-secret-0123456789' } },
          archive: { type: 'local', optional: true, config: { base_path: roots(dir).archive, signing_secret: 'a-test-signing-secret-0123456789' } },
        },
      }),
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('answers liveness without touching a backend and readiness with every check and its latency', async () => {
    const live = await probe(server.url, 'live');
    expect(live.status).toBe(200);
    expect(live.body).toMatchObject({ status: 'ok', details: { process: { status: 'up' } } });

    const ready = await probe(server.url, 'ready');
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('ok');
    expect(Object.keys(ready.body.details).sort()).toEqual(['database', 'storage:archive', 'storage:main']);
    expect(ready.body.details['storage:main']).toMatchObject({ status: 'up', type: 'local', optional: false });
    expect(ready.body.details['storage:archive']).toMatchObject({ status: 'up', type: 'local', optional: true });
    expect(ready.body.details.database).toMatchObject({ status: 'up', type: 'better-sqlite3' });
    for (const detail of Object.values(ready.body.details)) expect(typeof (detail as { latencyMs: unknown }).latencyMs).toBe('number');
  });

  it('reports an optional provider that is down as degraded, still 200', async () => {
    const { archive } = roots(server.dir);
    await rename(archive, `${archive}.away`);
    try {
      const ready = await probe(server.url, 'ready');
      printTransition('optional provider "archive" root removed', ready);
      expect(ready.status).toBe(200);
      expect(ready.body.status).toBe('degraded');
      expect(ready.body.details['storage:archive']).toMatchObject({ status: 'degraded', optional: true });
      expect(ready.body.details['storage:archive'].message).toMatch(/not writable/);
      expect(ready.body.details['storage:main'].status).toBe('up');
    } finally {
      await rename(`${archive}.away`, archive);
    }
    expect((await probe(server.url, 'ready')).body.status).toBe('ok');
  });

  it('turns readiness to 503 naming a required provider that stops, keeps liveness 200, and recovers', async () => {
    const { main } = roots(server.dir);
    expect((await probe(server.url, 'ready')).status).toBe(200);

    await rename(main, `${main}.away`);
    const down = await probe(server.url, 'ready');
    printTransition('required provider "main" root removed', down);
    expect(down.status).toBe(503);
    expect(down.body.status).toBe('error');
    expect(Object.keys(down.body.error)).toEqual(['storage:main']);
    expect(down.body.error['storage:main']).toMatchObject({ status: 'down', type: 'local', optional: false });
    expect(down.body.error['storage:main'].message).toMatch(/Storage root .* is not writable/);
    expect(down.body.info).toHaveProperty('database');
    expect((await probe(server.url, 'live')).status).toBe(200);

    await rename(`${main}.away`, main);
    const back = await probe(server.url, 'ready');
    printTransition('required provider "main" root restored', back);
    expect(back.status).toBe(200);
    expect(back.body.status).toBe('ok');
  });
});

describe('health endpoints: the registry database', () => {
  let server: TestServer;
  let database: Awaited<ReturnType<typeof createPgDatabase>>;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  const name = () => new URL(database.url).pathname.slice(1);

  beforeAll(async () => {
    database = await createPgDatabase();
    await admin.connect();
    server = await startTestServer({ databaseUrl: database.url, env: { HEALTH_TIMEOUT_MS: '15000' } });
  });
  afterEach(async () => {
    await admin.query(`ALTER DATABASE ${name()} ALLOW_CONNECTIONS true`);
  });
  afterAll(async () => {
    await server?.close();
    await admin.end();
    await database?.drop();
  });

  it('turns readiness to 503 naming the database when PostgreSQL refuses it, and recovers', async () => {
    const ready = await probe(server.url, 'ready');
    expect(ready.status).toBe(200);
    expect(ready.body.details.database).toMatchObject({ status: 'up', type: 'postgres' });

    // Refuse new connections and cut the pool's: the next query has no server to talk to.
    await admin.query(`ALTER DATABASE ${name()} ALLOW_CONNECTIONS false`);
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name()]);
    let down = await probe(server.url, 'ready');
    // The pool may hand out one connection it has not yet seen die; the next probe gets a new one.
    if (down.status === 200) down = await probe(server.url, 'ready');
    printTransition('PostgreSQL refuses the registry database', down);
    expect(down.status).toBe(503);
    expect(Object.keys(down.body.error)).toEqual(['database']);
    expect(down.body.error.database.status).toBe('down');
    expect(down.body.info['storage:local'].status).toBe('up');
    expect((await probe(server.url, 'live')).status).toBe(200);

    await admin.query(`ALTER DATABASE ${name()} ALLOW_CONNECTIONS true`);
    const back = await probe(server.url, 'ready');
    printTransition('PostgreSQL accepts it again', back);
    expect(back.status).toBe(200);
    expect(back.body.status).toBe('ok');
  });
});
