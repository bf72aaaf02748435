import { errors } from './errors.js';
import { bypassesRls, readJson, sendJson, type Route } from './http.js';

interface BucketBody {
  id?: string;
  name?: string;
  public?: boolean;
  file_size_limit?: number | null;
  allowed_mime_types?: string[] | null;
}

export const bucketRoutes: Route[] = [
  {
    method: 'POST',
    pattern: /^\/bucket$/,
    auth: true,
    handler: async (ctx) => {
      const body = await readJson<BucketBody>(ctx.req);
      if (typeof body.name !== 'string') throw errors.missingBodyProperty('name');
      if (!bypassesRls(ctx)) throw errors.rowLevelSecurity();
      const bucket = ctx.store.createBucket({ ...body, id: body.id ?? body.name });
      sendJson(ctx.res, 200, { name: bucket.name });
    },
  },
  {
    method: 'GET',
    pattern: /^\/bucket$/,
    auth: true,
    handler: async (ctx) => sendJson(ctx.res, 200, bypassesRls(ctx) ? [...ctx.store.buckets.values()] : []),
  },
  {
    method: 'GET',
    pattern: /^\/bucket\/(?<bucket>[^/]+)$/,
    auth: true,
    handler: async (ctx) => {
      const bucket = ctx.store.bucket(ctx.params.bucket);
      if (!bypassesRls(ctx)) throw errors.noSuchBucket(bucket.id);
      sendJson(ctx.res, 200, bucket);
    },
  },
  {
    method: 'PUT',
    pattern: /^\/bucket\/(?<bucket>[^/]+)$/,
    auth: true,
    handler: async (ctx) => {
      const body = await readJson<BucketBody>(ctx.req);
      const bucket = ctx.store.bucket(ctx.params.bucket);
      if (!bypassesRls(ctx)) throw errors.rowLevelSecurity();
      if (body.public !== undefined) bucket.public = Boolean(body.public);
      if (body.file_size_limit !== undefined) bucket.file_size_limit = body.file_size_limit;
      if (body.allowed_mime_types !== undefined) bucket.allowed_mime_types = body.allowed_mime_types;
      bucket.updated_at = new Date().toISOString();
      sendJson(ctx.res, 200, { message: 'Successfully updated' });
    },
  },
  {
    method: 'POST',
    pattern: /^\/bucket\/(?<bucket>[^/]+)\/empty$/,
    auth: true,
    handler: async (ctx) => {
      await readJson(ctx.req);
      if (!bypassesRls(ctx)) throw errors.rowLevelSecurity();
      await ctx.store.emptyBucket(ctx.params.bucket);
      sendJson(ctx.res, 200, { message: 'Empty bucket has been queued. Completion may take up to an hour.' });
    },
  },
  {
    method: 'DELETE',
    pattern: /^\/bucket\/(?<bucket>[^/]+)$/,
    auth: true,
    handler: async (ctx) => {
      await readJson(ctx.req);
      if (!bypassesRls(ctx)) throw errors.rowLevelSecurity();
      ctx.store.deleteBucket(ctx.params.bucket);
      sendJson(ctx.res, 200, { message: 'Successfully deleted' });
    },
  },
];
