import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { printTransition, probe } from './health-support.js';

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A TCP server that accepts connections and never answers: a backend that hangs. */
async function blackHole(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Cloud providers behind endpoints that do not work: one refuses connections (optional:
 * degraded), one accepts and never answers (required: the readiness timeout names it).
 */
describe('health endpoints: unreachable and hanging endpoints', () => {
  let server: TestServer;
  let hanging: Awaited<ReturnType<typeof blackHole>>;
  // Long enough for the working checks on a loaded machine; the hanging one takes exactly this long.
  const timeoutMs = 1500;

  beforeAll(async () => {
    const refused = await closedPort();
    hanging = await blackHole();
    server = await startTestServer({
      env: { HEALTH_TIMEOUT_MS: String(timeoutMs) },
      storage: (dir) => ({
        defaultProvider: 'local',
        providers: {
          local: { type: 'local', config: { base_path: `${dir}/storage`, signing_secret: 'a-test-signing-secret-0123456789' } },
          offsite: { type: 'gcs', optional: true, config: { bucket: 'offsite', project_id: 'p', api_endpoint: `http://127.0.0.1:${refused}` } },
          media: { type: 'gcs', config: { bucket: 'media', project_id: 'p', api_endpoint: `http://127.0.0.1:${hanging.port}` } },
        },
      }),
    });
  });
  afterAll(async () => {
    await server?.close();
    await hanging?.close();
  });

  it('names the hanging required provider in a 503 after the timeout, reports the refused optional one as degraded', async () => {
    await probe(server.url, 'ready'); // warm-up: the first probe also loads the SDK's lazy parts
    const ready = await probe(server.url, 'ready');
    printTransition('"media" endpoint hangs, optional "offsite" refuses connections', ready);
    expect(ready.status).toBe(503);
    expect(Object.keys(ready.body.error)).toEqual(['storage:media']);
    expect(ready.body.error['storage:media']).toMatchObject({ status: 'down', type: 'gcs', message: `timeout of ${timeoutMs}ms exceeded` });
    expect(ready.body.error['storage:media'].latencyMs).toBeGreaterThanOrEqual(timeoutMs - 5);
    expect(ready.body.details['storage:offsite']).toMatchObject({ status: 'degraded', optional: true, type: 'gcs' });
    expect(ready.body.details['storage:offsite'].message).toMatch(/ECONNREFUSED|not reachable|unavailable/i);
    expect(ready.body.details['storage:local'].status).toBe('up');
    expect((await probe(server.url, 'live')).status).toBe(200);
  });
});
