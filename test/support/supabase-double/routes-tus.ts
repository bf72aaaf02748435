import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat, writeFile } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StorageHttpError, TusHttpError, errors } from './errors.js';
import { assertValidObjectName, bypassesRls, type RequestContext, type Route } from './http.js';
import { assertMimeAllowed, GLOBAL_FILE_SIZE_LIMIT, sizeLimitOf } from './transfer.js';

/** One resumable upload: the bytes received so far live in `file`; the object appears at the end. */
interface ResumableUpload {
  id: string;
  bucket: string;
  objectName: string;
  length: number | null;
  offset: number;
  file: string;
  metadata: Record<string, string>;
  completed: boolean;
  /** Serialises requests on one upload (the real server takes a lock). */
  busy: boolean;
}

const TUS_HEADERS = { 'tus-resumable': '1.0.0' };
const OCTET = 'application/offset+octet-stream';

/** `Upload-Metadata`: comma-separated `key base64value` pairs (a key may have no value). */
function parseMetadata(header: string | undefined): Record<string, string> | undefined {
  if (!header) return undefined;
  const metadata: Record<string, string> = {};
  for (const pair of header.split(',')) {
    const [key, value] = pair.trim().split(' ');
    if (!key) continue;
    metadata[key] = value === undefined ? '' : Buffer.from(value, 'base64').toString('utf8');
  }
  return metadata;
}

/** A storage error thrown inside the TUS server is answered with its real status and message. */
function asTus(error: unknown): unknown {
  if (error instanceof StorageHttpError) return new TusHttpError(error.httpStatusCode, error.message);
  return error;
}

/**
 * TUS 1.0 resumable uploads at `/upload/resumable` (extensions creation, creation-with-upload,
 * creation-defer-length, termination). The upload id is the base64url of
 * `bucket/objectName/version`; the object becomes visible when the last byte arrives.
 */
export function tusRoutes(): Route[] {
  const uploads = new Map<string, ResumableUpload>();

  const find = (ctx: RequestContext): ResumableUpload => {
    const upload = uploads.get(ctx.params.id);
    if (!upload) throw new TusHttpError(404, 'The file for this url was not found\n');
    return upload;
  };

  const requireVersion = (ctx: RequestContext) => {
    if (ctx.req.headers['tus-resumable'] !== '1.0.0') throw new TusHttpError(412, 'Unsupported version\n');
  };

  /** What the server checks on every request but HEAD: may this caller create (or replace) the object? */
  const checkCanUpload = (ctx: RequestContext, bucket: string, objectName: string) => {
    if (!bypassesRls(ctx)) throw new TusHttpError(403, 'new row violates row-level security policy');
    const upsert = ctx.req.headers['x-upsert'] === 'true';
    if (!upsert && ctx.store.find(bucket, objectName)) throw new TusHttpError(409, 'The resource already exists');
  };

  /** Appends the request body at the current offset, never past the declared length or the limit. */
  const append = async (ctx: RequestContext, upload: ResumableUpload): Promise<void> => {
    const limit = upload.length ?? sizeLimitOf(ctx.store.bucket(upload.bucket));
    const start = upload.offset;
    let received = 0;
    const guard = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        received += chunk.length;
        if (start + received > limit) return callback(new TusHttpError(413, 'Maximum size exceeded\n'));
        callback(null, chunk);
      },
    });
    try {
      await pipeline(ctx.req, guard, createWriteStream(upload.file, { flags: 'a' }));
    } catch (error) {
      // Bytes that reached the file before a dropped connection count: the client resumes after them.
      upload.offset = (await stat(upload.file)).size;
      if (error instanceof TusHttpError) throw error;
      throw new TusHttpError(500, 'upload interrupted');
    }
    upload.offset = (await stat(upload.file)).size;
  };

  const complete = async (ctx: RequestContext, upload: ResumableUpload): Promise<void> => {
    const hash = createHash('md5');
    await pipeline(createReadStream(upload.file), async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) hash.update(chunk);
    });
    let userMetadata: Record<string, unknown> | undefined;
    try {
      if (upload.metadata.metadata) userMetadata = JSON.parse(upload.metadata.metadata) as Record<string, unknown>;
    } catch {
      // ignored, as the server does
    }
    await ctx.store.commit(
      upload.bucket,
      upload.objectName,
      { file: upload.file, size: upload.offset, md5: hash.digest('hex') },
      {
        mimetype: upload.metadata.contentType || 'application/octet-stream',
        cacheControl: upload.metadata.cacheControl,
        userMetadata,
        owner: ctx.claims?.sub,
      },
    );
    upload.completed = true;
  };

  const locked = async (upload: ResumableUpload, work: () => Promise<void>) => {
    if (upload.busy) throw new TusHttpError(423, 'The resource is locked');
    upload.busy = true;
    try {
      await work();
    } finally {
      upload.busy = false;
    }
  };

  const ID = '(?<id>[A-Za-z0-9_-]+)';
  return [
    ...['/upload/resumable', `/upload/resumable/${ID}`].map(
      (path): Route => ({
        method: 'OPTIONS',
        pattern: new RegExp(`^${path}/?$`),
        auth: false,
        handler: async (ctx) => {
          ctx.res.writeHead(204, {
            ...TUS_HEADERS,
            'tus-version': '1.0.0',
            'tus-extension': 'creation,creation-with-upload,termination,creation-defer-length',
            'tus-max-size': String(GLOBAL_FILE_SIZE_LIMIT),
          });
          ctx.res.end();
        },
      }),
    ),
    {
      method: 'POST',
      pattern: /^\/upload\/resumable\/?$/,
      auth: true,
      handler: async (ctx) => {
        try {
          requireVersion(ctx);
          const { req, res, store } = ctx;
          const lengthHeader = req.headers['upload-length'] as string | undefined;
          const deferred = req.headers['upload-defer-length'] === '1';
          if (lengthHeader === undefined && !deferred) throw new TusHttpError(400, 'Upload-Length or Upload-Defer-Length header required\n');
          const length = lengthHeader === undefined ? null : Number(lengthHeader);
          if (length !== null && (!Number.isSafeInteger(length) || length < 0)) throw new TusHttpError(400, 'Invalid Upload-Length\n');
          const metadata = parseMetadata(req.headers['upload-metadata'] as string | undefined);
          if (!metadata) throw errors.invalidRequest('Metadata header is required');
          const bucketName = metadata.bucketName ?? '';
          const objectName = metadata.objectName ?? '';
          const bucket = store.bucket(bucketName);
          assertValidObjectName(objectName);
          checkCanUpload(ctx, bucketName, objectName);
          if (length !== null && length > sizeLimitOf(bucket)) throw new TusHttpError(413, 'Maximum size exceeded\n');
          metadata.cacheControl = /^-?\d+$/.test(metadata.cacheControl ?? '') ? `max-age=${metadata.cacheControl}` : 'no-cache';
          if (metadata.contentType) assertMimeAllowed(metadata.contentType, bucket.allowed_mime_types);
          const id = Buffer.from(`${bucketName}/${objectName}/${randomUUID()}`, 'utf8').toString('base64url');
          const upload: ResumableUpload = {
            id,
            bucket: bucketName,
            objectName,
            length,
            offset: 0,
            file: store.newFilePath('resumable'),
            metadata,
            completed: false,
            busy: false,
          };
          await writeFile(upload.file, '');
          uploads.set(id, upload);
          const headers: Record<string, string> = { ...TUS_HEADERS, location: `${ctx.base}/upload/resumable/${id}` };
          if (req.headers['content-type'] === OCTET) {
            await locked(upload, async () => {
              await append(ctx, upload);
              if (upload.length !== null && upload.offset === upload.length) await complete(ctx, upload);
            });
            headers['upload-offset'] = String(upload.offset);
          }
          res.writeHead(201, headers);
          res.end();
        } catch (error) {
          throw asTus(error);
        }
      },
    },
    {
      method: 'HEAD',
      pattern: new RegExp(`^/upload/resumable/${ID}$`),
      auth: true,
      handler: async (ctx) => {
        requireVersion(ctx);
        const upload = find(ctx);
        const headers: Record<string, string> = { ...TUS_HEADERS, 'cache-control': 'no-store', 'upload-offset': String(upload.offset) };
        if (upload.length === null) headers['upload-defer-length'] = '1';
        else headers['upload-length'] = String(upload.length);
        ctx.res.writeHead(200, headers);
        ctx.res.end();
      },
    },
    {
      method: 'PATCH',
      pattern: new RegExp(`^/upload/resumable/${ID}$`),
      auth: true,
      handler: async (ctx) => {
        try {
          requireVersion(ctx);
          const { req, res } = ctx;
          const upload = find(ctx);
          checkCanUpload(ctx, upload.bucket, upload.objectName);
          if (req.headers['content-type'] !== OCTET) throw new TusHttpError(415, 'Unsupported Media Type\n');
          const offset = Number(req.headers['upload-offset']);
          if (!Number.isSafeInteger(offset)) throw new TusHttpError(403, 'Upload-Offset header required\n');
          await locked(upload, async () => {
            if (offset !== upload.offset) throw new TusHttpError(409, 'Upload-Offset conflict\n');
            const lengthHeader = req.headers['upload-length'] as string | undefined;
            if (lengthHeader !== undefined) {
              const length = Number(lengthHeader);
              if (upload.length !== null && upload.length !== length) throw new TusHttpError(400, 'Upload-Length cannot be changed\n');
              if (!Number.isSafeInteger(length) || length < upload.offset) throw new TusHttpError(400, 'Invalid Upload-Length\n');
              if (length > sizeLimitOf(ctx.store.bucket(upload.bucket))) throw new TusHttpError(413, 'Maximum size exceeded\n');
              upload.length = length;
            }
            if (upload.completed) throw new TusHttpError(400, 'The upload is already complete\n');
            await append(ctx, upload);
            if (upload.length !== null && upload.offset === upload.length) await complete(ctx, upload);
          });
          res.writeHead(204, { ...TUS_HEADERS, 'upload-offset': String(upload.offset) });
          res.end();
        } catch (error) {
          throw asTus(error);
        }
      },
    },
    {
      method: 'DELETE',
      pattern: new RegExp(`^/upload/resumable/${ID}$`),
      auth: true,
      handler: async (ctx) => {
        requireVersion(ctx);
        const upload = find(ctx);
        if (upload.completed) throw new TusHttpError(400, 'Cannot terminate an already completed upload\n');
        uploads.delete(upload.id);
        await rm(upload.file, { force: true });
        ctx.res.writeHead(204, TUS_HEADERS);
        ctx.res.end();
      },
    },
  ];
}
