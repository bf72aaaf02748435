/* eslint-disable no-console */

export interface ProbeResult {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/** GET /health/<kind> and its JSON. */
export async function probe(url: string, kind: 'live' | 'ready'): Promise<ProbeResult> {
  const response = await fetch(`${url}/health/${kind}`);
  return { status: response.status, body: await response.json() };
}

/** One line per readiness answer: HTTP status, overall status, each check (the e2e output doubles as a record). */
export function printTransition(what: string, result: ProbeResult): void {
  const checks = Object.entries((result.body?.details ?? {}) as Record<string, { status: string; message?: string }>)
    .map(([key, detail]) => `${key}=${detail.status}${detail.message ? ` (${detail.message.slice(0, 90)})` : ''}`)
    .join(', ');
  console.log(`[readiness] ${what}: HTTP ${result.status} ${result.body?.status}; ${checks}`);
}

interface S3rverServer {
  run(): Promise<{ port: number }>;
  httpServer?: import('node:http').Server;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverServer;

/**
 * s3rver in this process that can be stopped and started again on the same port and folder,
 * as a backend that goes away and comes back. (HeadBucket, all a ping needs, works without
 * the --openssl-legacy-provider flag that test/support/s3rver.ts gives its child for listings.)
 */
export async function restartableS3rver(directory: string, buckets: string[]) {
  const { createRequire } = await import('node:module');
  const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass;
  let server: S3rverServer | undefined;
  let port = 0;
  const start = async () => {
    server = new S3rver({ address: '127.0.0.1', port, silent: true, directory, configureBuckets: buckets.map((name) => ({ name })) });
    port = (await server.run()).port;
  };
  await start();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    start,
    /** Closes the listener and every open connection: requests now fail with ECONNREFUSED. */
    stop: async () => {
      const http = server?.httpServer;
      server = undefined;
      if (!http) return;
      const closed = new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeAllConnections();
      await closed;
    },
  };
}
