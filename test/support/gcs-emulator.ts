import { fork, type ChildProcess } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, verify as cryptoVerify } from 'node:crypto';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream';

/**
 * The Firebase Storage emulator (firebase-tools, pinned in package.json) serving the GCS JSON API,
 * started as SERVERS.md describes: `StorageEmulator` constructed directly with the rules runtime
 * stubbed (the CLI wants Java and a downloaded rules jar), registered with `EmulatorRegistry`.
 *
 * It runs in a child Node process rather than in the test process because it holds every object
 * in memory per request: tests that bound the test process's memory while streaming 64 MiB would
 * otherwise be measuring the emulator. The child also gets its own blob folder (the emulator's
 * default `$TMP/firebase/storage/blobs` is shared by every process and deleted on stop).
 *
 * In front of it sits a small proxy, in the test process, that
 * - rewrites `/storage/v1/b...` to `/b...`: the emulator registers PATCH, copy/rewrite and bucket
 *   listing without the prefix the SDK uses;
 * - records every request, so tests can check what a client sent where the emulator does not
 *   enforce it (preconditions, KMS key, signed headers);
 * - lets a test answer chosen requests itself (fault injection: 412, 503, 403...);
 * - applies a signed GET's `response-content-disposition`/`response-content-type`, as GCS does.
 */
export interface RecordedRequest {
  method: string;
  /** The URL as the client sent it (before the prefix rewrite). */
  url: URL;
  headers: IncomingHttpHeaders;
}

export interface InterceptedResponse {
  status: number;
  /** Sent as JSON unless a string. */
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * Answers a request instead of the emulator when it returns a response; `'reset'` drops the
 * connection without an answer (a keep-alive socket the server closed under the request).
 */
export type Interceptor = (request: RecordedRequest) => InterceptedResponse | 'reset' | undefined;

export interface GcsEmulator {
  /** Give this to `@google-cloud/storage` as `apiEndpoint`. */
  apiEndpoint: string;
  projectId: string;
  /** Requests seen by the proxy, oldest first (the last 1000). */
  requests: RecordedRequest[];
  /** Installs an interceptor; returns a function that removes it. */
  intercept: (interceptor: Interceptor) => () => void;
  stop: () => Promise<void>;
}

export interface GcsEmulatorOptions {
  projectId?: string;
}

const require = createRequire(import.meta.url);

/** Runs in the child (CommonJS): starts the emulator on a free port and reports it over IPC. */
const CHILD_SOURCE = `
const net = require('node:net');
const { storageModule, registryModule, projectId, blobDir } = JSON.parse(process.argv[2]);
const { StorageEmulator } = require(storageModule);
const { EmulatorRegistry } = require(registryModule);

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

(async () => {
  const port = await freePort();
  const emulator = new StorageEmulator({ projectId, host: '127.0.0.1', port, rules: [], auto_download: false });
  emulator.getPersistenceTmpDir = () => blobDir;
  emulator._persistence.reset(blobDir);
  emulator._rulesRuntime.start = async () => {};
  emulator._rulesRuntime.stop = async () => {};
  await EmulatorRegistry.start(emulator);
  process.on('disconnect', () => {
    EmulatorRegistry.stop('storage').finally(() => process.exit(0));
  });
  process.send({ port });
})().catch((error) => {
  process.send({ error: String(error && error.stack || error) });
  process.exit(1);
});
`;

function startChild(projectId: string, blobDir: string, scriptDir: string): Promise<{ child: ChildProcess; port: number }> {
  const script = join(scriptDir, 'gcs-emulator-child.cjs');
  writeFileSync(script, CHILD_SOURCE);
  const args = JSON.stringify({
    storageModule: require.resolve('firebase-tools/lib/emulator/storage'),
    registryModule: require.resolve('firebase-tools/lib/emulator/registry'),
    projectId,
    blobDir,
  });
  // stdout is ignored: the emulator logs there. Errors still reach stderr.
  const child = fork(script, [args], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: [] });
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`GCS emulator exited early (code ${code})`));
    child.once('exit', onExit);
    child.once('message', (message: { port?: number; error?: string }) => {
      child.off('exit', onExit);
      if (message.port) resolve({ child, port: message.port });
      else reject(new Error(`GCS emulator failed to start: ${message.error}`));
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    if (child.connected) child.disconnect();
    else child.kill('SIGTERM');
  });
}

/**
 * Cloud Storage serves a signed GET with the `response-content-disposition` and
 * `response-content-type` its URL carries; the emulator ignores both. The proxy applies them the
 * way GCS does, so a test can check the value the provider signed (a download's file name).
 */
function signedResponseOverrides(request: RecordedRequest, status: number | undefined): Record<string, string> {
  const query = request.url.searchParams;
  if (request.method !== 'GET' || !query.has('X-Goog-Signature') || (status !== 200 && status !== 206)) return {};
  const overrides: Record<string, string> = {};
  const disposition = query.get('response-content-disposition');
  const type = query.get('response-content-type');
  if (disposition) overrides['content-disposition'] = disposition;
  if (type) overrides['content-type'] = type;
  return overrides;
}

/** Starts an emulator and its proxy on free ports. */
export async function startGcsEmulator(options: GcsEmulatorOptions = {}): Promise<GcsEmulator> {
  const projectId = options.projectId ?? 'boards-test';
  const workDir = mkdtempSync(join(tmpdir(), 'gcs-emulator-'));
  const blobDir = join(workDir, 'blobs');
  let started: { child: ChildProcess; port: number };
  try {
    started = await startChild(projectId, blobDir, workDir);
  } catch (error) {
    rmSync(workDir, { recursive: true, force: true });
    throw error;
  }
  const { child, port: emulatorPort } = started;

  const requests: RecordedRequest[] = [];
  // A fresh connection per request: a reused socket the emulator has just closed would surface
  // as a spurious "socket hang up" in an unrelated test.
  const agent = new Agent({ keepAlive: false });
  const interceptors = new Set<Interceptor>();

  const proxy: Server = createServer((req, res) => {
    const original = new URL(req.url ?? '/', 'http://proxy.invalid');
    const recorded: RecordedRequest = { method: req.method ?? 'GET', url: original, headers: { ...req.headers } };
    requests.push(recorded);
    if (requests.length > 1000) requests.shift();

    for (const interceptor of interceptors) {
      const answer = interceptor(recorded);
      if (!answer) continue;
      if (answer === 'reset') {
        req.socket.destroy();
        return;
      }
      req.resume();
      req.once('end', () => {
        const isText = typeof answer.body === 'string';
        const payload = answer.body === undefined ? '' : isText ? (answer.body as string) : JSON.stringify(answer.body);
        res.writeHead(answer.status, {
          'content-type': isText ? 'text/plain' : 'application/json',
          ...answer.headers,
        });
        res.end(payload);
      });
      return;
    }

    const path = original.pathname.startsWith('/storage/v1/b')
      ? `${original.pathname.slice('/storage/v1'.length)}${original.search}`
      : (req.url ?? '/');
    const upstream = httpRequest(
      { host: '127.0.0.1', port: emulatorPort, method: req.method, path, headers: req.headers, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, { ...answer.headers, ...signedResponseOverrides(recorded, answer.statusCode) });
        pipeline(answer, res, () => {});
      },
    );
    upstream.once('error', () => res.destroy());
    // A client that aborts mid-body must look aborted to the emulator too, never like a short body.
    pipeline(req, upstream, (error) => {
      if (error) upstream.destroy(error);
    });
  });
  // Keep idle client connections open as a cloud front end does, not Node's default 5 s: a busy
  // test machine otherwise reuses sockets the proxy is closing, a race real GCS rarely offers.
  proxy.keepAliveTimeout = 120_000;
  proxy.headersTimeout = 125_000;
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { port } = proxy.address() as AddressInfo;

  return {
    apiEndpoint: `http://127.0.0.1:${port}`,
    projectId,
    requests,
    intercept(interceptor) {
      interceptors.add(interceptor);
      return () => interceptors.delete(interceptor);
    },
    async stop() {
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      await stopChild(child);
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// What the emulator does not check (it accepts any signed URL, tampered or expired), checked
// here the way Cloud Storage does: a V4 signature verified against the signing key.

/** A throwaway service-account key: lets the SDK sign URLs offline. */
export function fakeServiceAccount(projectId = 'boards-test'): {
  credentials: { type: string; project_id: string; client_email: string; private_key: string };
  publicKey: string;
} {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return {
    credentials: {
      type: 'service_account',
      project_id: projectId,
      client_email: `storage-tests@${projectId}.iam.gserviceaccount.com`,
      private_key: privateKey,
    },
    publicKey,
  };
}

export interface SignedRequestAttempt {
  method: string;
  url: string;
  /** Headers the client sends (any case); `host` comes from the URL. */
  headers?: Record<string, string>;
  now?: Date;
}

/**
 * Verifies a request made with a V4 signed URL (GOOG4-RSA-SHA256) as Cloud Storage does:
 * rebuilds the canonical request from the method, the raw path, the query without the signature
 * and the signed headers' values as sent, then checks the RSA signature and the expiry window.
 * Returns undefined when valid, or why it is not.
 */
export function verifyV4SignedRequest(publicKey: string, attempt: SignedRequestAttempt): string | undefined {
  const match = /^https?:\/\/([^/?#]+)([^?#]*)(?:\?([^#]*))?/.exec(attempt.url);
  if (!match) return 'not an absolute URL';
  const [, authority, rawPath, rawQuery = ''] = match;
  const pairs = rawQuery
    .split('&')
    .filter(Boolean)
    .map((part) => {
      const at = part.indexOf('=');
      return at < 0 ? [part, ''] : [part.slice(0, at), part.slice(at + 1)];
    });
  const param = (name: string) => {
    const found = pairs.find(([key]) => key === name);
    return found ? decodeURIComponent(found[1]) : undefined;
  };
  const signature = param('X-Goog-Signature');
  const date = param('X-Goog-Date');
  const expires = Number(param('X-Goog-Expires'));
  const credential = param('X-Goog-Credential');
  const signedHeaderNames = param('X-Goog-SignedHeaders')?.split(';');
  if (param('X-Goog-Algorithm') !== 'GOOG4-RSA-SHA256') return 'not a GOOG4-RSA-SHA256 URL';
  if (!signature || !date || !credential || !signedHeaderNames || !Number.isFinite(expires)) return 'missing signature parameters';

  const sent: Record<string, string> = { host: authority.replace(/:\d+$/, '') };
  for (const [name, value] of Object.entries(attempt.headers ?? {})) sent[name.toLowerCase()] = value;
  const canonicalHeaders: string[] = [];
  for (const name of signedHeaderNames) {
    if (sent[name] === undefined) return `signed header ${name} was not sent`;
    canonicalHeaders.push(`${name}:${sent[name].trim().replace(/\s+/g, ' ')}\n`);
  }
  const canonicalQuery = pairs
    .filter(([key]) => key !== 'X-Goog-Signature')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join('&');
  const canonicalRequest = [
    attempt.method.toUpperCase(),
    rawPath,
    canonicalQuery,
    canonicalHeaders.join(''),
    signedHeaderNames.join(';'),
    'UNSIGNED-PAYLOAD',
  ].join('\n');
  const scope = credential.split('/').slice(1).join('/');
  const stringToSign = ['GOOG4-RSA-SHA256', date, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  if (!cryptoVerify('RSA-SHA256', Buffer.from(stringToSign), publicKey, Buffer.from(signature, 'hex'))) {
    return 'signature does not match';
  }
  const start = Date.parse(date.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
  const now = (attempt.now ?? new Date()).getTime();
  if (now < start - 60_000 || now > start + expires * 1000) return 'expired';
  return undefined;
}

/**
 * A `gcs` provider config block pointed at an emulator, with a throwaway key so presigned URLs
 * can be signed offline. Each call gets its own bucket unless one is given.
 */
export function gcsTestConfig(emulator: Pick<GcsEmulator, 'apiEndpoint' | 'projectId'>, bucket = `test-${randomBytes(4).toString('hex')}`) {
  const { credentials, publicKey } = fakeServiceAccount(emulator.projectId);
  return {
    config: { bucket, project_id: emulator.projectId, api_endpoint: emulator.apiEndpoint, credentials },
    /** Verifies the provider's signed URLs (verifyV4SignedRequest). */
    publicKey,
  };
}
