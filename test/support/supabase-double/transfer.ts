import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import { errors } from './errors.js';
import { assertValidObjectName, type RequestContext } from './http.js';
import type { StoredObject } from './store.js';

/** Upload limit when a bucket sets none (the server's global FILE_SIZE_LIMIT; generous here). */
export const GLOBAL_FILE_SIZE_LIMIT = 5 * 1024 * 1024 * 1024;

export interface UploadTarget {
  bucketId: string;
  name: string;
  upsert: boolean;
  owner?: string;
}

/** The size limit of a bucket: its own `file_size_limit`, capped by the global one. */
export function sizeLimitOf(bucket: { file_size_limit: number | null }): number {
  return Math.min(bucket.file_size_limit ?? GLOBAL_FILE_SIZE_LIMIT, GLOBAL_FILE_SIZE_LIMIT);
}

export function assertMimeAllowed(mime: string, allowed: string[] | null): void {
  if (!allowed || allowed.length === 0) return;
  const [type, subtype] = mime.split(';')[0].trim().split('/');
  if (!subtype) throw errors.invalidMimeType(mime);
  const ok = allowed.some((entry) => {
    const [allowedType, allowedSubtype] = entry.split('/');
    return allowedType === type && (allowedSubtype === '*' || allowedSubtype === subtype);
  });
  if (!ok) throw errors.invalidMimeType(mime);
}

function parseUserMetadata(base64: string | string[] | undefined): Record<string, unknown> | undefined {
  if (typeof base64 !== 'string') return undefined;
  try {
    return JSON.parse(Buffer.from(base64, 'base64').toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** The first file of a multipart/form-data body, with the fields sent before it. */
function firstFile(ctx: RequestContext): Promise<{ file: Readable; mimeType: string; fields: Record<string, string> }> {
  return new Promise((resolve, reject) => {
    const parser = busboy({ headers: ctx.req.headers, limits: { files: 1, fields: 10 } });
    const fields: Record<string, string> = {};
    let found = false;
    parser.on('field', (name, value) => {
      fields[name] = value;
    });
    parser.on('file', (_name, file, info) => {
      found = true;
      resolve({ file, mimeType: info.mimeType, fields });
    });
    parser.on('error', (error) => reject(errors.invalidRequest(`No content provided: ${String(error)}`)));
    parser.on('close', () => {
      if (!found) reject(errors.invalidRequest('No content provided'));
    });
    ctx.req.pipe(parser);
  });
}

/**
 * Receives an object upload (a raw body or the first file of a form) and commits it. Create-only
 * uploads are refused before the body is read, as the real server checks permission to create
 * the row first; the row itself is upserted when the body is complete.
 */
export async function receiveUpload(ctx: RequestContext, target: UploadTarget): Promise<StoredObject> {
  const { store, req } = ctx;
  const bucket = store.bucket(target.bucketId);
  assertValidObjectName(target.name);
  if (!target.upsert && store.find(target.bucketId, target.name)) throw errors.keyAlreadyExists(`${target.bucketId}/${target.name}`);

  let body: Readable;
  let mimetype: string;
  let cacheControl: string;
  let userMetadata: Record<string, unknown> | undefined;
  const contentType = req.headers['content-type'];
  if (contentType?.startsWith('multipart/form-data')) {
    const form = await firstFile(ctx);
    body = form.file;
    mimetype = form.fields.contentType || form.mimeType;
    cacheControl = form.fields.cacheControl ? `max-age=${form.fields.cacheControl}` : 'no-cache';
    const custom = form.fields.metadata ?? form.fields.userMetadata;
    if (custom) {
      try {
        userMetadata = JSON.parse(custom) as Record<string, unknown>;
      } catch {
        // ignored, as the server does
      }
    }
  } else {
    body = req;
    mimetype = contentType || 'application/octet-stream';
    cacheControl = (req.headers['cache-control'] as string | undefined) ?? 'no-cache';
    userMetadata = parseUserMetadata(req.headers['x-metadata']);
  }
  assertMimeAllowed(mimetype, bucket.allowed_mime_types);
  const received = await store.receive(body, sizeLimitOf(bucket));
  return store.commit(target.bucketId, target.name, received, { mimetype, cacheControl, userMetadata, owner: target.owner });
}

/** A single byte range (`bytes=a-b`, `a-`, `-n`, unit case-insensitive), or undefined for none. */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  if (!header) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/i.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) throw errors.invalidRange();
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (match[2] !== '' && Number(match[2]) < start) return undefined; // an invalid range is ignored
  if (start >= size) throw errors.invalidRange();
  return { start, end };
}

export interface ServeOptions {
  /** Signed URLs answer with `Expires` (the token's expiry) instead of the object's Cache-Control. */
  expires?: Date;
  /** `download` query parameter: an attachment, named when not empty. */
  download?: string | null;
}

/** Streams an object (or a range of it) from its file, with the headers of the real renderer. */
export async function serveObject(ctx: RequestContext, row: StoredObject, options: ServeOptions = {}): Promise<void> {
  const { req, res } = ctx;
  let handle;
  try {
    handle = await open(row.file, 'r');
  } catch {
    throw errors.noSuchKey(row.name); // replaced or deleted since it was looked up
  }
  try {
    const size = row.metadata.size;
    const range = parseRange(req.headers.range, size);
    const mime = row.metadata.mimetype.includes('text/html') ? 'text/plain' : row.metadata.mimetype;
    const headers: Record<string, string | number> = {
      'accept-ranges': 'bytes',
      'content-type': mime,
      etag: row.metadata.eTag,
      'content-length': range ? range.end - range.start + 1 : size,
      'last-modified': new Date(row.updated_at).toUTCString(),
    };
    if (options.expires) headers.expires = options.expires.toUTCString();
    else headers['cache-control'] = row.metadata.cacheControl;
    if (range) headers['content-range'] = `bytes ${range.start}-${range.end}/${size}`;
    if (options.download !== undefined && options.download !== null) {
      const name = encodeURIComponent(options.download);
      headers['content-disposition'] = options.download === '' ? 'attachment;' : `attachment; filename=${name}; filename*=UTF-8''${name};`;
    }
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === 'HEAD' || size === 0) {
      res.end();
      return;
    }
    const stream = createReadStream('', { fd: handle, start: range?.start ?? 0, end: range?.end ?? size - 1, autoClose: true });
    handle = undefined; // the stream owns it now
    await pipeline(stream, res).catch(() => res.destroy());
  } finally {
    await handle?.close();
  }
}
