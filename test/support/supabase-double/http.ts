import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Claims, DoubleAuth } from './auth.js';
import { StorageHttpError, TusHttpError, ValidationError, errors } from './errors.js';
import type { DoubleStore } from './store.js';

/** Everything a route handler sees. Paths are still percent-encoded; `params` are decoded. */
export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  /** Path below the mount point, percent-encoded as received, without the query. */
  path: string;
  query: URLSearchParams;
  params: Record<string, string>;
  claims?: Claims;
  store: DoubleStore;
  auth: DoubleAuth;
  /** Origin and mount point the client used, e.g. `http://127.0.0.1:5000/storage/v1`. */
  base: string;
}

export type Handler = (ctx: RequestContext) => Promise<void>;

export interface Route {
  method: string;
  pattern: RegExp;
  /** Route behind the JWT check (Authorization header required). */
  auth: boolean;
  handler: Handler;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Renders an error the way the real server does for its routes. */
export function sendError(ctx: Pick<RequestContext, 'req' | 'res'>, error: unknown): void {
  const { req, res } = ctx;
  if (res.headersSent) {
    res.destroy(error instanceof Error ? error : undefined);
    return;
  }
  if (error instanceof TusHttpError) {
    res.writeHead(error.status, { 'content-type': 'text/plain; charset=utf-8', 'tus-resumable': '1.0.0' });
    res.end(req.method === 'HEAD' ? undefined : error.message);
    return;
  }
  let status = 500;
  let body: unknown = { statusCode: '500', error: 'Internal', message: 'Internal Server Error' };
  if (error instanceof StorageHttpError) {
    status = error.responseStatus;
    body = error.render();
  } else if (error instanceof ValidationError) {
    status = 400;
    body = error.render();
  }
  if (req.method === 'HEAD') {
    // A HEAD answer has no body: a missing object is a bare 400.
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end();
    return;
  }
  sendJson(res, status, body);
}

/** Reads a small JSON body (route bodies of the API are a few hundred bytes). */
export async function readJson<T = Record<string, unknown>>(req: IncomingMessage, limit = 1024 * 1024): Promise<T> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req) {
    length += (chunk as Buffer).length;
    if (length > limit) throw errors.invalidBody('Request body is too large');
    chunks.push(chunk as Buffer);
  }
  if (length === 0) return {} as T;
  try {
    return JSON.parse(Buffer.concat(chunks, length).toString('utf8')) as T;
  } catch {
    throw errors.invalidBody('Body is not valid JSON');
  }
}

/** Decodes a captured path segment as the router does (`%2F` becomes `/`). */
export function decodeParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw errors.invalidBody(`'${raw}' is not a valid url component`);
  }
}

/**
 * Object names the server refuses: control characters and the two non-characters, as the
 * `objects_name_check` constraint of the schema does (unicode itself is accepted).
 */
export function assertValidObjectName(name: string): void {
  // eslint-disable-next-line no-control-regex
  if (name.length === 0 || /[\x00-\x08\x0B\x0C\x0E-\x1F]/.test(name) || /[\uFFFE\uFFFF]/.test(name)) {
    throw errors.invalidKey(name);
  }
}

/**
 * Requests made with a key other than service_role are subject to row-level security. The
 * double models a project without policies on `storage.objects`: such requests can neither see
 * nor write objects (public buckets are read through `/object/public`, which bypasses RLS).
 */
export function bypassesRls(ctx: RequestContext): boolean {
  return ctx.claims?.role === 'service_role';
}
