import { errors } from './errors.js';
import { assertValidObjectName, bypassesRls, readJson, sendJson, type RequestContext, type Route } from './http.js';
import { publicRow, type StoredObject } from './store.js';
import { receiveUpload, serveObject } from './transfer.js';

const B = '(?<bucket>[^/]+)';
const NAME = '(?<name>.+)';

/** Reads an object the caller's role may see (RLS hides every row from non-service roles). */
function visible(ctx: RequestContext, bucketId: string, name: string): StoredObject {
  ctx.store.bucket(bucketId);
  if (!bypassesRls(ctx)) throw errors.noSuchKey(`${bucketId}/${name}`);
  return ctx.store.mustFind(bucketId, name);
}

function requireWrite(ctx: RequestContext): void {
  if (!bypassesRls(ctx)) throw errors.rowLevelSecurity();
}

const lower = (value: string) => Buffer.from(value.toLowerCase(), 'utf8');
/** `lower(name) COLLATE "C"`: case-folded, then compared byte by byte. */
const byLowerName = (a: string, b: string) => Buffer.compare(lower(a), lower(b));

interface SearchBody {
  prefix?: string;
  limit?: number;
  offset?: number;
  search?: string;
  sortBy?: { column?: string; order?: string };
}

/**
 * The legacy `storage.search`: one folder level below `prefix` (treated as a folder), names
 * relative to it, folders (id null) interleaved with files in `lower(name)` order, matched
 * case-insensitively on `prefix + search`, then offset and limit (at most 1500).
 */
function search(rows: StoredObject[], body: SearchBody) {
  let prefix = body.prefix ?? '';
  if (prefix.length > 0 && !prefix.endsWith('/')) prefix = `${prefix}/`;
  const search = body.search ?? '';
  const match = (prefix + search).toLowerCase();
  const ascending = (body.sortBy?.order ?? 'asc').toLowerCase() === 'asc';
  const column = body.sortBy?.column ?? 'name';
  const candidates = rows.filter((row) => row.name.toLowerCase().startsWith(match)).sort((a, b) => byLowerName(a.name, b.name));
  const folders: { name: string; key: string }[] = [];
  const files: StoredObject[] = [];
  const entries: ({ folder: string } | { row: StoredObject })[] = [];
  let lastFolderKey: string | undefined;
  for (const row of candidates) {
    const rest = row.name.substring(prefix.length);
    const slash = rest.indexOf('/', search.length);
    if (slash >= 0) {
      const folder = rest.slice(0, slash);
      const key = (prefix + folder).toLowerCase();
      if (key === lastFolderKey) continue;
      lastFolderKey = key;
      folders.push({ name: folder, key });
      entries.push({ folder });
    } else {
      files.push(row);
      entries.push({ row });
    }
  }
  let ordered: ({ folder: string } | { row: StoredObject })[];
  if (column === 'name') {
    ordered = ascending ? entries : entries.reverse();
  } else {
    // Other columns: folders first (by name), then files by the column.
    const key = column as 'updated_at' | 'created_at' | 'last_accessed_at';
    const sortedFiles = [...files].sort((a, b) => (a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : 0) * (ascending ? 1 : -1));
    const sortedFolders = ascending ? folders : [...folders].reverse();
    ordered = [...sortedFolders.map((f) => ({ folder: f.name })), ...sortedFiles.map((row) => ({ row }))];
  }
  const limit = Math.min(body.limit ?? 100, 1500);
  const offset = body.offset ?? 0;
  return ordered.slice(offset, offset + limit).map((entry) =>
    'folder' in entry
      ? { name: entry.folder, id: null, updated_at: null, created_at: null, last_accessed_at: null, metadata: null }
      : {
          name: entry.row.name.substring(prefix.length),
          id: entry.row.id,
          updated_at: entry.row.updated_at,
          created_at: entry.row.created_at,
          last_accessed_at: entry.row.last_accessed_at,
          metadata: entry.row.metadata,
        },
  );
}

function info(row: StoredObject) {
  return {
    id: row.id,
    name: row.name,
    version: row.version,
    bucket_id: row.bucket_id,
    size: row.metadata.size,
    content_type: row.metadata.mimetype,
    cache_control: row.metadata.cacheControl,
    etag: row.metadata.eTag,
    metadata: row.user_metadata,
    last_modified: row.updated_at,
    created_at: row.created_at,
  };
}

interface TransferBody {
  bucketId?: string;
  sourceKey?: string;
  destinationKey?: string;
  destinationBucket?: string;
}

function transferBody(body: TransferBody): Required<Omit<TransferBody, 'destinationBucket'>> & { destinationBucket: string } {
  for (const field of ['bucketId', 'sourceKey', 'destinationKey'] as const) {
    if (typeof body[field] !== 'string') throw errors.missingBodyProperty(field);
  }
  return { ...(body as Required<TransferBody>), destinationBucket: body.destinationBucket || body.bucketId! };
}

export const objectRoutes: Route[] = [
  {
    method: 'POST',
    pattern: /^\/object\/list\/(?<bucket>[^/]+)$/,
    auth: true,
    handler: async (ctx) => {
      const body = await readJson<SearchBody>(ctx.req);
      if (typeof body.prefix !== 'string') throw errors.missingBodyProperty('prefix');
      ctx.store.bucket(ctx.params.bucket);
      sendJson(ctx.res, 200, bypassesRls(ctx) ? search(ctx.store.all(ctx.params.bucket), body) : []);
    },
  },
  {
    method: 'POST',
    pattern: /^\/object\/move$/,
    auth: true,
    handler: async (ctx) => {
      const body = transferBody(await readJson<TransferBody>(ctx.req));
      requireWrite(ctx);
      ctx.store.bucket(body.destinationBucket);
      assertValidObjectName(body.destinationKey);
      if (body.sourceKey !== body.destinationKey || body.bucketId !== body.destinationBucket) {
        ctx.store.move(body.bucketId, body.sourceKey, body.destinationBucket, body.destinationKey);
      }
      sendJson(ctx.res, 200, { message: 'Successfully moved' });
    },
  },
  {
    method: 'POST',
    pattern: /^\/object\/copy$/,
    auth: true,
    handler: async (ctx) => {
      const body = transferBody(await readJson<TransferBody & { copyMetadata?: boolean }>(ctx.req));
      requireWrite(ctx);
      ctx.store.mustFind(body.bucketId, body.sourceKey);
      assertValidObjectName(body.destinationKey);
      const upsert = ctx.req.headers['x-upsert'] === 'true';
      if (!upsert && ctx.store.find(body.destinationBucket, body.destinationKey)) {
        throw errors.keyAlreadyExists(`${body.destinationBucket}/${body.destinationKey}`);
      }
      const row = await ctx.store.copy(body.bucketId, body.sourceKey, body.destinationBucket, body.destinationKey);
      sendJson(ctx.res, 200, { Key: `${body.destinationBucket}/${body.destinationKey}`, Id: row.id, ...publicRow(row) });
    },
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/object/info(?:/authenticated)?/${B}/${NAME}$`),
    auth: true,
    handler: async (ctx) => sendJson(ctx.res, 200, info(visible(ctx, ctx.params.bucket, ctx.params.name))),
  },
  {
    method: 'DELETE',
    pattern: new RegExp(`^/object/${B}$`),
    auth: true,
    handler: async (ctx) => {
      const body = await readJson<{ prefixes?: string[] }>(ctx.req);
      if (!Array.isArray(body.prefixes)) throw errors.missingBodyProperty('prefixes');
      if (body.prefixes.length > 1000) throw errors.invalidBody('body/prefixes must NOT have more than 1000 items');
      ctx.store.bucket(ctx.params.bucket);
      const removed = bypassesRls(ctx) ? await ctx.store.remove(ctx.params.bucket, body.prefixes) : [];
      sendJson(ctx.res, 200, removed.map(publicRow));
    },
  },
  {
    method: 'DELETE',
    pattern: new RegExp(`^/object/${B}/${NAME}$`),
    auth: true,
    handler: async (ctx) => {
      visible(ctx, ctx.params.bucket, ctx.params.name);
      await ctx.store.remove(ctx.params.bucket, [ctx.params.name]);
      sendJson(ctx.res, 200, { message: 'Successfully deleted' });
    },
  },
  ...(['POST', 'PUT'] as const).map(
    (method): Route => ({
      method,
      pattern: new RegExp(`^/object/${B}/${NAME}$`),
      auth: true,
      handler: async (ctx) => {
        requireWrite(ctx);
        // POST creates (x-upsert may allow replacing); PUT replaces.
        const upsert = method === 'PUT' || ctx.req.headers['x-upsert'] === 'true';
        const row = await receiveUpload(ctx, { bucketId: ctx.params.bucket, name: ctx.params.name, upsert, owner: ctx.claims?.sub });
        sendJson(ctx.res, 200, { Id: row.id, Key: `${row.bucket_id}/${row.name}` });
      },
    }),
  ),
  ...(['GET', 'HEAD'] as const).map(
    (method): Route => ({
      method,
      pattern: new RegExp(`^/object/(?:authenticated/)?${B}/${NAME}$`),
      auth: true,
      handler: async (ctx) => serveObject(ctx, visible(ctx, ctx.params.bucket, ctx.params.name)),
    }),
  ),
];
