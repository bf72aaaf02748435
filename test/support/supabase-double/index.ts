import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tempDir } from '../temp-dir.js';
import { DoubleAuth } from './auth.js';
import { StorageHttpError, TusHttpError } from './errors.js';
import { decodeParam, sendError, type RequestContext, type Route } from './http.js';
import { bucketRoutes } from './routes-buckets.js';
import { objectRoutes } from './routes-objects.js';
import { signedRoutes } from './routes-signed.js';
import { tusRoutes } from './routes-tus.js';
import { DoubleStore } from './store.js';

/** Where supabase-js sends Storage requests below the project URL (the gateway strips it). */
export const STORAGE_MOUNT = '/storage/v1';

export interface Fault {
  method?: string;
  /** Matched against the path below the mount point. */
  path: RegExp;
  /** HTTP status to answer with (500 stays 500; others are rendered as the API does). */
  status: number;
  /** How many requests fail; default 1. */
  times?: number;
}

export interface SupabaseDoubleOptions {
  jwtSecret?: string;
  /** Buckets to create at start. */
  buckets?: { id: string; public?: boolean; file_size_limit?: number; allowed_mime_types?: string[] }[];
}

export interface SupabaseDouble {
  /** The project URL (`SUPABASE_URL`): clients append `/storage/v1`. */
  url: string;
  storageUrl: string;
  jwtSecret: string;
  serviceRoleKey: string;
  anonKey: string;
  auth: DoubleAuth;
  store: DoubleStore;
  /** Makes the next matching request(s) fail with `status` (to test error paths). */
  injectFault(fault: Fault): void;
  /** Requests seen, `METHOD path` below the mount point (to check what a client sent). */
  requests: string[];
  stop(): Promise<void>;
}

/**
 * Starts the HTTP double of the Supabase Storage REST API on 127.0.0.1 (port 0). It follows the
 * behaviour recorded from the real server (SERVERS.md and servers/supabase-storage-wire.log):
 * Bearer JWT on every authenticated route, errors as HTTP 400 carrying the real status as a
 * string, signed URLs whose JWT (path and expiry) is verified, TUS 1.0 resumable uploads, and
 * bodies streamed to temporary files, an object appearing only once its body is complete.
 */
export async function startSupabaseDouble(options: SupabaseDoubleOptions = {}): Promise<SupabaseDouble> {
  const dir = await tempDir('supabase-double-');
  const store = new DoubleStore(dir.path);
  await store.init();
  const auth = new DoubleAuth(options.jwtSecret ?? 'super-secret-jwt-token-with-at-least-32-characters-long');
  for (const bucket of options.buckets ?? []) store.createBucket(bucket);

  const routes: Route[] = [...signedRoutes, ...bucketRoutes, ...objectRoutes, ...tusRoutes()];
  const faults: (Fault & { left: number })[] = [];
  const requests: string[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://double');
    if (!url.pathname.startsWith(`${STORAGE_MOUNT}/`)) {
      res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ message: 'no Route matched with those values' }));
      return;
    }
    const path = url.pathname.slice(STORAGE_MOUNT.length);
    const method = req.method ?? 'GET';
    requests.push(`${method} ${path}`);
    const ctx: RequestContext = {
      req,
      res,
      path,
      query: url.searchParams,
      params: {},
      store,
      auth,
      base: `http://${req.headers.host}${STORAGE_MOUNT}`,
    };
    try {
      const fault = faults.find((f) => f.left > 0 && (!f.method || f.method === method) && f.path.test(path));
      if (fault) {
        fault.left--;
        if (path.startsWith('/upload/resumable')) throw new TusHttpError(fault.status, 'injected fault');
        throw new StorageHttpError(fault.status, fault.status >= 500 ? 'InternalError' : 'InvalidRequest', 'Internal', 'injected fault');
      }
      for (const route of routes) {
        if (route.method !== method) continue;
        const match = route.pattern.exec(path);
        if (!match) continue;
        for (const [name, raw] of Object.entries(match.groups ?? {})) ctx.params[name] = name === 'id' ? raw : decodeParam(raw);
        if (route.auth) ctx.claims = auth.authenticate(req);
        await route.handler(ctx);
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ statusCode: 404, error: 'Not Found', message: `Route ${method}:${path} not found` }));
    } catch (error) {
      sendError(ctx, error);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => sendError({ req, res }, error));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    storageUrl: `${url}${STORAGE_MOUNT}`,
    jwtSecret: auth.secret,
    serviceRoleKey: auth.apiKey('service_role'),
    anonKey: auth.apiKey('anon'),
    auth,
    store,
    requests,
    injectFault: (fault) => faults.push({ ...fault, left: fault.times ?? 1 }),
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await dir.remove();
    },
  };
}
