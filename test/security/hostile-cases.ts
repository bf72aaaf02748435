import { rawPathSegment, type RawRequest } from './hostile-http.js';

/**
 * Generators of hostile requests against the reference server. Each case says what a correct
 * server may answer: a client error, or (where the request is legitimate after all) a success.
 */
export interface HostileCase {
  category: string;
  name: string;
  request: RawRequest;
  /** Successful statuses this case may legitimately get (default: none, only 4xx). */
  allowSuccess?: number[];
  /** The client leaves before the answer (or half-closes): no answer is acceptable. */
  allowNoAnswer?: boolean;
  /** A refusal that no code of ours can shape (Node's own answer): its body need not be our JSON error. */
  anyErrorBody?: boolean;
  /** Extra check of a success answer (e.g. the stored size equals the declared length). */
  checkSuccess?: (body: Buffer) => string | undefined;
}

/** What the cases need to know about the running server. */
export interface HostileContext {
  /** `authorization` header value of an editor of boards b1..b9 in tenant t1. */
  auth: string;
  /** A ready artifact (its id and storage key). */
  seedId: string;
  seedKey: string;
  /** Query string (without `?`) of a valid signed download URL of the seed. */
  seedSignature: string;
  /** A unique name that traversal payloads aim at: it must appear nowhere after the run. */
  marker: string;
}

/** Every form of "climb out of the root" the suite sends, each aimed at `marker`. */
export function traversalPayloads(marker: string): Array<{ form: string; value: string }> {
  const m = marker;
  const list: Array<[string, string]> = [
    ['dot-dot', `../${m}`],
    ['dot-dot', `../../../../../../../../tmp/${m}`],
    ['dot-dot', '..'],
    ['dot-dot', '../'],
    ['dot-dot', `x/../../${m}`],
    ['dot-dot', `....//....//${m}`],
    ['dot-dot', `..;/${m}`],
    ['dot-dot', '.'],
    ['dot-dot', `./${m}`],
    ['encoded', `%2e%2e%2f${m}`],
    ['encoded', `..%2f${m}`],
    ['encoded', `%2e%2e/${m}`],
    ['encoded', `%2E%2E%2F%2E%2E%2F${m}`],
    ['double-encoded', `%252e%252e%252f${m}`],
    ['double-encoded', `..%252f${m}`],
    ['double-encoded', `%25252e%25252e%25252f${m}`],
    ['overlong-utf8', `%c0%ae%c0%ae%c0%af${m}`],
    ['overlong-utf8', `%e0%80%ae%e0%80%ae/${m}`],
    ['backslash', `..\\${m}`],
    ['backslash', `..\\..\\..\\${m}`],
    ['backslash', `..%5c${m}`],
    ['backslash', `%5c..%5c${m}`],
    ['backslash', `..%255c${m}`],
    ['nul', `${m}\u0000.png`],
    ['nul', `..%00/${m}`],
    ['nul', '%00'],
    ['nul', `${m}%00`],
    ['unicode', `\uFF0E\uFF0E\uFF0F${m}`],
    ['unicode', `\uFF0E\uFF0E/${m}`],
    ['unicode', `..\u2215${m}`],
    ['unicode', `..\uFF0F${m}`],
    ['unicode', `\u2024\u2024/${m}`],
    ['unicode', `\uFE52\uFE52/${m}`],
    ['unicode', `%EF%BC%8E%EF%BC%8E%EF%BC%8F${m}`],
    ['unicode', `..\u29F8${m}`],
    ['unicode', `\u202E${m}`],
    ['absolute', '/etc/passwd'],
    ['absolute', `/tmp/${m}`],
    ['absolute', `C:\\Windows\\${m}`],
    ['absolute', `\\\\server\\share\\${m}`],
    ['absolute', `file:///tmp/${m}`],
    ['absolute', `%2ftmp%2f${m}`],
    ['absolute', `//tmp/${m}`],
    ['absolute', `~/${m}`],
    ['overlong', 'a'.repeat(256)],
    ['overlong', 'a'.repeat(1100)],
    ['overlong', 'a/'.repeat(600)],
    ['overlong', `${'..%2f'.repeat(200)}${m}`],
    ['control', `${m}\r\nX-Injected: 1`],
    ['control', `\t..\u007f${m}`],
  ];
  return list.map(([form, value]) => ({ form, value }));
}

/** A query value as a careless client would write it: only what would break the query is escaped. */
function rawQueryValue(value: string): string {
  return rawPathSegment(value).replace(/[&=+]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

type Encoder = (value: string) => string;
const ENCODERS: Array<[string, Encoder]> = [
  ['raw', rawPathSegment],
  ['encoded', encodeURIComponent],
];
const QUERY_ENCODERS: Array<[string, Encoder]> = [
  ['raw', rawQueryValue],
  ['encoded', encodeURIComponent],
];

/** Every parameter and path segment of the API, each fed every traversal payload, raw and encoded. */
export function traversalCases(ctx: HostileContext): HostileCase[] {
  const auth: [string, string] = ['Authorization', ctx.auth];
  const text: [string, string] = ['Content-Type', 'text/plain'];
  const json: [string, string] = ['Content-Type', 'application/json'];
  const seedDir = ctx.seedKey.split('/').slice(0, -1).map(encodeURIComponent).join('/');
  // `both`: every payload goes raw and encoded (the routes that turn the value into a storage key);
  // elsewhere raw and encoded alternate between payloads, so each form meets each point once.
  const points: Array<{ where: string; encoders: Array<[string, Encoder]>; both?: boolean; build: (p: string) => RawRequest }> = [
    { where: 'query type (POST /artifacts)', encoders: QUERY_ENCODERS, build: (p) => ({ method: 'POST', path: `/artifacts?type=${p}&boardId=b1`, headers: [auth, text], body: ['x'] }) },
    { where: 'query boardId (POST /artifacts)', encoders: QUERY_ENCODERS, build: (p) => ({ method: 'POST', path: `/artifacts?type=text&boardId=${p}`, headers: [auth, text], body: ['x'] }) },
    { where: 'path :id (GET /artifacts/:id)', encoders: ENCODERS, build: (p) => ({ method: 'GET', path: `/artifacts/${p}`, headers: [auth] }) },
    { where: 'path :id (GET /artifacts/:id/content)', encoders: ENCODERS, build: (p) => ({ method: 'GET', path: `/artifacts/${p}/content`, headers: [auth] }) },
    { where: 'path :id (GET /artifacts/:id/download-url)', encoders: ENCODERS, build: (p) => ({ method: 'GET', path: `/artifacts/${p}/download-url`, headers: [auth] }) },
    { where: 'path :id (DELETE /artifacts/:id)', encoders: ENCODERS, build: (p) => ({ method: 'DELETE', path: `/artifacts/${p}`, headers: [auth] }) },
    { where: 'path :artifactId (POST /uploads/:id/complete)', encoders: ENCODERS, build: (p) => ({ method: 'POST', path: `/uploads/${p}/complete`, headers: [auth] }) },
    { where: 'path :boardId (GET /boards/:boardId/artifacts)', encoders: ENCODERS, build: (p) => ({ method: 'GET', path: `/boards/${p}/artifacts`, headers: [auth] }) },
    { where: 'query type (GET /boards/b1/artifacts)', encoders: QUERY_ENCODERS, build: (p) => ({ method: 'GET', path: `/boards/b1/artifacts?type=${p}`, headers: [auth] }) },
    { where: 'query cursor (GET /boards/b1/artifacts)', encoders: QUERY_ENCODERS, build: (p) => ({ method: 'GET', path: `/boards/b1/artifacts?cursor=${p}`, headers: [auth] }) },
    { where: 'query limit (GET /boards/b1/artifacts)', encoders: QUERY_ENCODERS, build: (p) => ({ method: 'GET', path: `/boards/b1/artifacts?limit=${p}`, headers: [auth] }) },
    { where: 'signed GET /storage/local/*key (seed signature)', encoders: ENCODERS, both: true, build: (p) => ({ method: 'GET', path: `/storage/local/${p}?${ctx.seedSignature}` }) },
    { where: 'signed GET under the seed folder', encoders: ENCODERS, build: (p) => ({ method: 'GET', path: `/storage/local/${seedDir}/${p}?${ctx.seedSignature}` }) },
    { where: 'signed HEAD /storage/local/*key', encoders: ENCODERS, build: (p) => ({ method: 'HEAD', path: `/storage/local/${p}?${ctx.seedSignature}` }) },
    { where: 'signed PUT /storage/local/*key', encoders: ENCODERS, both: true, build: (p) => ({ method: 'PUT', path: `/storage/local/${p}?${ctx.seedSignature}`, headers: [text], body: ['pwned'] }) },
    { where: 'path :provider (/storage/:provider/*key)', encoders: ENCODERS, build: (p) => ({ method: 'GET', path: `/storage/${p}/${encodeURIComponent(ctx.marker)}?${ctx.seedSignature}` }) },
  ];
  const cases: HostileCase[] = [];
  for (const [index, payload] of traversalPayloads(ctx.marker).entries()) {
    for (const point of points) {
      for (const [encoding, encode] of point.both ? point.encoders : [point.encoders[index % 2]]) {
        cases.push({ category: 'traversal', name: `${point.where} [${encoding}] ${payload.form}: ${JSON.stringify(payload.value.slice(0, 40))}`, request: point.build(encode(payload.value)) });
      }
    }
    for (const field of ['type', 'boardId', 'contentType', 'size']) {
      const fields: Record<string, unknown> = { type: 'text', boardId: 'b1', contentType: 'text/plain', size: 5 };
      fields[field] = payload.value;
      cases.push({
        category: 'traversal',
        name: `JSON field ${field} (POST /uploads) ${payload.form}: ${JSON.stringify(payload.value.slice(0, 40))}`,
        request: { method: 'POST', path: '/uploads', headers: [auth, json], body: [JSON.stringify(fields)] },
      });
    }
  }
  return cases;
}

/** Query shapes the API does not expect: arrays, objects, duplicates, absurd numbers. */
export function parameterCases(ctx: HostileContext): HostileCase[] {
  const auth: [string, string] = ['Authorization', ctx.auth];
  const text: [string, string] = ['Content-Type', 'text/plain'];
  const list = (query: string): RawRequest => ({ method: 'GET', path: `/boards/b1/artifacts?${query}`, headers: [auth] });
  const post = (query: string): RawRequest => ({ method: 'POST', path: `/artifacts?${query}`, headers: [auth, text], body: ['x'] });
  const queries: Array<[string, RawRequest]> = [
    ['type twice (POST)', post('type=text&type=image&boardId=b1')],
    ['type as array (POST)', post('type[]=text&boardId=b1')],
    ['type as object (POST)', post('type[a]=text&boardId=b1')],
    ['boardId twice (POST)', post('type=text&boardId=b1&boardId=b2')],
    ['boardId as object (POST)', post('type=text&boardId[__proto__]=x')],
    ['type missing (POST)', post('boardId=b1')],
    ['type empty (POST)', post('type=&boardId=b1')],
    ['__proto__ pollution (POST)', post('type=text&boardId=b1&__proto__[admin]=1')],
    ['constructor pollution (POST)', post('type=text&boardId=b1&constructor[prototype][x]=1')],
  ];
  for (const limit of ['-1', '0', '201', '1e3', 'NaN', 'Infinity', '1.5', '0x10', ' 1', '99999999999999999999', '', '[]']) {
    queries.push([`limit=${JSON.stringify(limit)}`, list(`limit=${encodeURIComponent(limit)}`)]);
  }
  queries.push(['limit twice', list('limit=1&limit=2')], ['limit as array', list('limit[]=1')]);
  for (const cursor of ['!!!', 'eyJ4IjoxfQ', Buffer.from('{"id":"../x"}').toString('base64url'), 'A'.repeat(5000), '%00', Buffer.from('\u0000\u0001').toString('base64'), Buffer.from('{"createdAt":"not a date","id":1}').toString('base64url')]) {
    queries.push([`cursor ${JSON.stringify(cursor.slice(0, 20))}`, list(`cursor=${encodeURIComponent(cursor)}`)]);
  }
  queries.push(['cursor twice', list('cursor=a&cursor=b')], ['type as object (list)', list('type[x]=1')]);
  // Unknown parameters are ignored: the upload itself is legitimate, but nothing may be polluted.
  // (`limit[]`, `type[x]`: the query parser keeps them as other names, so the listing ignores them.)
  const ignorable = new Map([['__proto__ pollution (POST)', 201], ['constructor pollution (POST)', 201], ['limit as array', 200], ['type as object (list)', 200]]);
  return queries.map(([name, request]) => ({ category: 'parameters', name, request, ...(ignorable.has(name) ? { allowSuccess: [ignorable.get(name)!] } : {}) }));
}
