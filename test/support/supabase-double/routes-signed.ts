import type { Claims } from './auth.js';
import { errors } from './errors.js';
import { assertValidObjectName, bypassesRls, readJson, sendJson, type RequestContext, type Route } from './http.js';
import { receiveUpload, serveObject } from './transfer.js';

/** Lifetime of signed upload URLs: fixed by the server (`UPLOAD_SIGNED_URL_EXPIRATION_TIME`). */
export const SIGNED_UPLOAD_URL_SECONDS = 2 * 60 * 60;

const B = '(?<bucket>[^/]+)';
const NAME = '(?<name>.+)';

/**
 * The `url` claim of a signed URL: the request path after `/object/sign/` (or
 * `/object/upload/sign/`), passed through `decodeURI` as the server does. Reserved characters
 * that were percent-encoded (`%3F`, `%23`, `%2B`...) therefore stay encoded in the claim.
 */
function urlToSign(ctx: RequestContext): string {
  return decodeURI(ctx.path.split('/').slice(ctx.path.startsWith('/object/upload/') ? 4 : 3).join('/'));
}

function verifyToken(ctx: RequestContext): Claims {
  const token = ctx.query.get('token');
  if (!token) throw errors.missingQueryProperty('token');
  let claims: Claims;
  try {
    claims = ctx.auth.verify(token);
  } catch (error) {
    throw errors.invalidJwt((error as Error).message);
  }
  if (claims.url !== `${ctx.params.bucket}/${ctx.params.name}`) throw errors.invalidSignature();
  return claims;
}

export const signedRoutes: Route[] = [
  {
    method: 'POST',
    pattern: new RegExp(`^/object/sign/${B}/${NAME}$`),
    auth: true,
    handler: async (ctx) => {
      const body = await readJson<{ expiresIn?: number }>(ctx.req);
      if (body.expiresIn === undefined) throw errors.missingBodyProperty('expiresIn');
      if (!Number.isInteger(body.expiresIn) || body.expiresIn < 1) throw errors.invalidBody('body/expiresIn must be >= 1');
      if (!bypassesRls(ctx)) throw errors.noSuchKey(ctx.params.name);
      ctx.store.mustFind(ctx.params.bucket, ctx.params.name);
      const url = urlToSign(ctx);
      const token = ctx.auth.sign({ url }, body.expiresIn);
      sendJson(ctx.res, 200, { signedURL: `/object/sign/${url}?token=${token}` });
    },
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/object/sign/${B}$`),
    auth: true,
    handler: async (ctx) => {
      const body = await readJson<{ expiresIn?: number; paths?: string[] }>(ctx.req);
      if (body.expiresIn === undefined) throw errors.missingBodyProperty('expiresIn');
      if (!Array.isArray(body.paths)) throw errors.missingBodyProperty('paths');
      const results = body.paths.map((path) => {
        const found = bypassesRls(ctx) && ctx.store.find(ctx.params.bucket, path);
        if (!found) return { error: 'Either the object does not exist or you do not have access to it', path, signedURL: null };
        const url = `${ctx.params.bucket}/${path}`;
        return { error: null, path, signedURL: `/object/sign/${url}?token=${ctx.auth.sign({ url }, body.expiresIn!)}` };
      });
      sendJson(ctx.res, 200, results);
    },
  },
  ...(['GET', 'HEAD'] as const).map(
    (method): Route => ({
      method,
      pattern: new RegExp(`^/object/sign/${B}/${NAME}$`),
      auth: false,
      handler: async (ctx) => {
        const claims = verifyToken(ctx);
        const row = ctx.store.mustFind(ctx.params.bucket, ctx.params.name);
        await serveObject(ctx, row, { expires: new Date((claims.exp ?? 0) * 1000), download: ctx.query.get('download') });
      },
    }),
  ),
  {
    method: 'POST',
    pattern: new RegExp(`^/object/upload/sign/${B}/${NAME}$`),
    auth: true,
    handler: async (ctx) => {
      const upsert = ctx.req.headers['x-upsert'] === 'true';
      ctx.store.bucket(ctx.params.bucket);
      assertValidObjectName(ctx.params.name);
      if (!bypassesRls(ctx)) throw errors.rowLevelSecurity();
      if (!upsert && ctx.store.find(ctx.params.bucket, ctx.params.name)) throw errors.keyAlreadyExists(ctx.params.name);
      const url = urlToSign(ctx);
      const token = ctx.auth.sign({ owner: ctx.claims?.sub, url, upsert }, SIGNED_UPLOAD_URL_SECONDS);
      sendJson(ctx.res, 200, { url: `/object/upload/sign/${url}?token=${token}`, token });
    },
  },
  {
    method: 'PUT',
    pattern: new RegExp(`^/object/upload/sign/${B}/${NAME}$`),
    auth: false,
    handler: async (ctx) => {
      const claims = verifyToken(ctx);
      if ((claims.exp ?? 0) * 1000 < Date.now()) throw errors.invalidJwt('The signature has expired');
      const row = await receiveUpload(ctx, { bucketId: ctx.params.bucket, name: ctx.params.name, upsert: Boolean(claims.upsert), owner: claims.owner });
      sendJson(ctx.res, 200, { Key: `${row.bucket_id}/${row.name}` });
    },
  },
  ...(['GET', 'HEAD'] as const).map(
    (method): Route => ({
      method,
      pattern: new RegExp(`^/object/public/${B}/${NAME}$`),
      auth: false,
      handler: async (ctx) => {
        const bucket = ctx.store.bucket(ctx.params.bucket);
        if (!bucket.public) throw errors.noSuchBucket(bucket.id);
        await serveObject(ctx, ctx.store.mustFind(bucket.id, ctx.params.name), { download: ctx.query.get('download') });
      },
    }),
  ),
];
