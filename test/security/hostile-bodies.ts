import type { HostileCase, HostileContext } from './hostile-cases.js';
import type { RawRequest } from './hostile-http.js';

const CRLF = '\r\n';

/** The stored record's size must equal `expected` (a body cut to its declared length). */
const sizeIs = (expected: number) => (body: Buffer) => {
  const size = (JSON.parse(body.toString('utf8')) as { size?: number }).size;
  return size === expected ? undefined : `stored ${size} bytes, expected ${expected}`;
};

function part(name: string, value: string, extra: string[] = []): string {
  return [`Content-Disposition: form-data; name="${name}"`, ...extra, '', value].join(CRLF);
}

function filePart(value: string, filename = 'a.txt', type = 'text/plain', field = 'file'): string {
  return part(field, value, [`Content-Type: ${type}`]).replace(`name="${field}"`, `name="${field}"; filename="${filename}"`);
}

function form(boundary: string, parts: string[], close = true): string {
  return parts.map((p) => `--${boundary}${CRLF}${p}${CRLF}`).join('') + (close ? `--${boundary}--${CRLF}` : '');
}

/** Malformed multipart forms: only an intact `file` part may be stored (201). */
export function multipartCases(ctx: HostileContext): HostileCase[] {
  const b = 'hostileBoundary42';
  const upload = (contentType: string, body: string | string[], extra: Partial<RawRequest> = {}): RawRequest => ({
    method: 'POST',
    path: '/artifacts?type=text&boardId=b1',
    headers: [['Authorization', ctx.auth], ['Content-Type', contentType]],
    body: Array.isArray(body) ? body : [body],
    ...extra,
  });
  const mp = `multipart/form-data; boundary=${b}`;
  const cases: Array<[string, RawRequest, number[]?]> = [
    ['no boundary parameter', upload('multipart/form-data', form(b, [filePart('x')]))],
    ['empty boundary', upload('multipart/form-data; boundary=""', form(b, [filePart('x')]))],
    ['boundary over 70 characters', upload(`multipart/form-data; boundary=${'z'.repeat(200)}`, form('z'.repeat(200), [filePart('x')])), [201]],
    ['empty body', upload(mp, '')],
    ['only the closing delimiter', upload(mp, `--${b}--${CRLF}`)],
    ['truncated inside the file part', upload(mp, form(b, [filePart('partial file')], false).slice(0, -10))],
    ['no closing delimiter', upload(mp, form(b, [filePart('x')], false))],
    ['no file field, only text fields', upload(mp, form(b, [part('note', 'hi'), part('other', 'x')]))],
    ['file under another field name', upload(mp, form(b, [filePart('x', 'a.txt', 'text/plain', 'upload')]))],
    ['part without Content-Disposition', upload(mp, form(b, [['Content-Type: text/plain', '', 'x'].join(CRLF)]))],
    ['part headers never end', upload(mp, `--${b}${CRLF}Content-Disposition: form-data; name="file"; filename="a"${CRLF}x`)],
    ['many parts (300 fields)', upload(mp, form(b, [...Array.from({ length: 300 }, (_, i) => part(`f${i}`, 'v')), filePart('x')]))],
    // Limits drop the excess header pairs and truncate fields; the file part itself is intact.
    ['many header pairs in a part (200)', upload(mp, form(b, [filePart('x').replace(CRLF, `${CRLF}${Array.from({ length: 200 }, (_, i) => `X-H${i}: v`).join(CRLF)}${CRLF}`)])), [201]],
    ['huge part header (100 KB)', upload(mp, form(b, [filePart('x').replace(CRLF, `${CRLF}X-Huge: ${'h'.repeat(100_000)}${CRLF}`)]))],
    ['huge field name', upload(mp, form(b, [part('n'.repeat(5000), 'v'), filePart('x')])), [201]],
    ['huge text field value', upload(mp, form(b, [part('note', 'v'.repeat(100_000)), filePart('x')])), [201]],
    ['boundary mismatch', upload(mp, form('otherBoundary', [filePart('x')]))],
    ['LF-only line endings', upload(mp, form(b, [filePart('x')]).replace(/\r\n/g, '\n'))],
    ['two file fields (first is stored)', upload(mp, form(b, [filePart('one'), filePart('two')])), [201]],
    ['another file field before "file"', upload(mp, form(b, [filePart('thumb', 't.png', 'image/png', 'thumb'), filePart('x')])), [201]],
    ['eleven file fields', upload(mp, form(b, [...Array.from({ length: 10 }, (_, i) => filePart('o', 'o.txt', 'text/plain', `o${i}`)), filePart('x')]))],
    ['truncated inside a field after the file part', upload(mp, form(b, [filePart('complete'), part('note', 'trunc')], false).slice(0, -6))],
    ['junk instead of the closing delimiter after the file part', upload(mp, `${form(b, [filePart('complete')], false)}junk that is no boundary`)],
    ['complete file part, then the client half-closes before the rest', upload(mp, form(b, [filePart('complete'), part('note', 'v')], false), { headers: [['Authorization', ctx.auth], ['Content-Type', mp], ['Content-Length', '5000']], then: 'end' })],
    ['traversal in the filename', upload(mp, form(b, [filePart('x', `../../../../tmp/${ctx.marker}`)])), [201]],
    ['NUL and unicode in the filename', upload(mp, form(b, [filePart('x', `a\u0000b\uFF0E\uFF0E\uFF0F${ctx.marker}`)])), [201]],
    ['absolute Windows path filename', upload(mp, form(b, [filePart('x', `C:\\temp\\${ctx.marker}`)])), [201]],
    ['file part type is multipart/mixed', upload(mp, form(b, [filePart(form('inner', [filePart('x')]), 'a', `multipart/mixed; boundary=inner`)])), [201]],
    ['file part without a type', upload(mp, form(b, [part('file', 'x').replace('name="file"', 'name="file"; filename="a"')])), [201]],
    ['garbage before the first boundary', upload(mp, `garbage${CRLF}${form(b, [filePart('x')])}`), [201]],
    ['only garbage', upload(mp, 'this is not a multipart body at all')],
    ['multipart/mixed instead of form-data', upload(`multipart/mixed; boundary=${b}`, form(b, [filePart('x')]))],
    ['body shorter than Content-Length (client half-closes)', upload(mp, form(b, [filePart('x'.repeat(100))], false), { headers: [['Authorization', ctx.auth], ['Content-Type', mp], ['Content-Length', '5000']], then: 'end' })],
    ['client resets mid-file', upload(mp, [form(b, [filePart('x'.repeat(20_000))], false)], { headers: [['Authorization', ctx.auth], ['Content-Type', mp], ['Content-Length', '90000']], then: 'destroy', pauseMs: 50 })],
  ];
  return cases.map(([name, request, allowSuccess]) => ({
    category: 'multipart',
    name,
    request,
    allowSuccess,
    allowNoAnswer: request.then === 'destroy' || request.then === 'end',
  }));
}

/** Bodies whose framing lies: Content-Length too big or too small, broken chunking, early hang-ups. */
export function lyingBodyCases(ctx: HostileContext, signedPut: () => string): HostileCase[] {
  const auth: [string, string] = ['Authorization', ctx.auth];
  const text: [string, string] = ['Content-Type', 'text/plain'];
  const post = (headers: Array<[string, string]>, body: string[], extra: Partial<RawRequest> = {}): RawRequest => ({
    method: 'POST',
    path: '/artifacts?type=text&boardId=b1',
    headers: [auth, text, ...headers],
    body,
    autoLength: false,
    ...extra,
  });
  const put = (headers: Array<[string, string]>, body: string[], extra: Partial<RawRequest> = {}): RawRequest => ({
    method: 'PUT',
    path: signedPut(),
    headers: [text, ...headers],
    body,
    autoLength: false,
    ...extra,
  });
  const chunked: [string, string] = ['Transfer-Encoding', 'chunked'];
  const cases: Array<[string, RawRequest, { allowSuccess?: number[]; check?: HostileCase['checkSuccess'] }?]> = [];
  for (const [label, make] of [
    ['POST /artifacts', post],
    ['signed PUT', put],
  ] as const) {
    cases.push(
      [`${label}: Content-Length larger, client half-closes`, make([['Content-Length', '1000']], ['only ten b'], { then: 'end' })],
      [`${label}: Content-Length larger, client resets`, make([['Content-Length', '100000']], ['x'.repeat(30_000)], { then: 'destroy', pauseMs: 30 })],
      [`${label}: Content-Length larger, client stops after headers`, make([['Content-Length', '10']], [], { then: 'end' })],
      [`${label}: chunked, stops halfway (half-close)`, make([chunked], ['5\r\nhello\r\n', '5\r\nwor'], { then: 'end', pauseMs: 20 })],
      [`${label}: chunked, resets halfway`, make([chunked], ['400\r\n', 'x'.repeat(500)], { then: 'destroy', pauseMs: 30 })],
      [`${label}: chunk size is not hex`, make([chunked], ['zz\r\nhello\r\n0\r\n\r\n'])],
      [`${label}: chunk longer than its size`, make([chunked], ['2\r\nhello\r\n0\r\n\r\n'])],
      [`${label}: both Content-Length and chunked`, make([['Content-Length', '5'], chunked], ['5\r\nhello\r\n0\r\n\r\n'])],
      [`${label}: negative Content-Length`, make([['Content-Length', '-1']], ['x'])],
      [`${label}: non-numeric Content-Length`, make([['Content-Length', 'abc']], ['x'])],
      [`${label}: Content-Length with a plus sign`, make([['Content-Length', '+5']], ['hello'])],
      [`${label}: two different Content-Lengths`, make([['Content-Length', '5'], ['Content-Length', '6']], ['hello!'])],
      [`${label}: 20-digit Content-Length`, make([['Content-Length', '99999999999999999999']], ['x'])],
      [`${label}: Content-Length over the size limit`, make([['Content-Length', String(50 * 1024 * 1024)]], ['x'.repeat(1000)], { then: 'end' })],
      [`${label}: unknown transfer coding`, make([['Transfer-Encoding', 'gzip, chunked']], ['5\r\nhello\r\n0\r\n\r\n'])],
      [`${label}: Transfer-Encoding identity`, make([['Transfer-Encoding', 'identity']], ['hello'])],
      [`${label}: Expect 100-continue, then nothing`, make([['Content-Length', '50'], ['Expect', '100-continue']], [], { then: 'end' })],
    );
  }
  cases.push(
    ['POST /artifacts: Content-Length smaller (the rest is a second, garbage request)', post([['Content-Length', '4']], ['abcdEFGHIJ']), { allowSuccess: [201], check: sizeIs(4) }],
    ['POST /artifacts: slow but honest body', post([['Content-Length', '9']], ['abc', 'def', 'ghi'], { pauseMs: 100 }), { allowSuccess: [201], check: sizeIs(9) }],
    ['POST /artifacts: no length and no chunking', post([], ['hello'], { then: 'end' }), { allowSuccess: [201], check: sizeIs(0) }],
    ['signed PUT: Content-Length smaller than the URL allows and body', put([['Content-Length', '3']], ['abcdef']), { allowSuccess: [200] }],
    ['signed PUT: no length and no chunking', put([], ['hello'], { then: 'end' })],
  );
  return cases.map(([name, request, options]) => ({
    category: 'lying-body',
    name,
    request,
    allowSuccess: options?.allowSuccess,
    checkSuccess: options?.check,
    allowNoAnswer: request.then === 'destroy' || request.then === 'end',
  }));
}

/** Oversized and malformed header blocks, request lines and Range values. */
export function headerCases(ctx: HostileContext): HostileCase[] {
  const auth: [string, string] = ['Authorization', ctx.auth];
  const content = `/artifacts/${ctx.seedId}/content`;
  const get = (headers: Array<[string, string]>, path = content): RawRequest => ({ method: 'GET', path, headers });
  const list: Array<[string, string, RawRequest, number[]?]> = [
    ['huge-headers', 'one 20 KB header', get([auth, ['X-Big', 'b'.repeat(20_000)]])],
    ['huge-headers', '1 MB header', get([auth, ['X-Big', 'b'.repeat(1_000_000)]])],
    ['huge-headers', '3000 small headers', get([auth, ...Array.from({ length: 3000 }, (_, i): [string, string] => [`X-H${i}`, 'v'])])],
    ['huge-headers', '20 KB request target', get([auth], `/artifacts/${'a'.repeat(20_000)}`)],
    ['huge-headers', '15 KB bearer token', get([['Authorization', `Bearer ${'e'.repeat(15_000)}`]])],
    ['huge-headers', '15 KB cookie', get([auth, ['Cookie', `c=${'c'.repeat(15_000)}`]]), [200]],
    ['huge-headers', '10 KB content type on upload', { method: 'POST', path: '/artifacts?type=text&boardId=b1', headers: [auth, ['Content-Type', `text/plain; ${'p=1; '.repeat(2000)}`]], body: ['x'] }],
    ['huge-headers', '10 KB Range of many ranges (ignored: whole body)', get([auth, ['Range', `bytes=${Array.from({ length: 1500 }, (_, i) => `${i}-${i}`).join(',')}`]]), [200]],
    ['huge-headers', 'header value with NUL', get([auth, ['X-Nul', 'a\u0000b']])],
    ['huge-headers', 'obsolete line folding', get([auth, ['X-Fold', `a${CRLF} folded`]])],
    ['huge-headers', 'header name with a space', get([auth, ['X Bad', 'v']])],
    ['huge-headers', 'no Host header (HTTP/1.1)', { method: 'GET', path: content, headers: [auth, ['Host', '']] }],
    // Node keeps the first of duplicated Host / Authorization headers: the caller reads what it may read.
    ['huge-headers', 'two Host headers', get([auth, ['Host', 'a'], ['Host', 'b']]), [200]],
    ['huge-headers', 'Authorization twice', get([auth, auth]), [200]],
    ['huge-headers', 'Authorization twice, the second of another tenant', get([auth, ['Authorization', `Bearer ${'x'.repeat(20)}`]]), [200]],
    ['huge-headers', 'bearer token with CRLF injection', get([['Authorization', `Bearer x${CRLF}X-Admin: 1`]])],
    ['range-header', 'bytes=-0', get([auth, ['Range', 'bytes=-0']])],
    ['range-header', 'bytes=5-1 (ignored: whole body)', get([auth, ['Range', 'bytes=5-1']]), [200]],
    ['range-header', '20-digit start (ignored)', get([auth, ['Range', 'bytes=99999999999999999999-']]), [200]],
    ['range-header', 'start beyond the end', get([auth, ['Range', 'bytes=1000000-']])],
    ['range-header', 'not bytes (ignored)', get([auth, ['Range', 'items=0-1']]), [200]],
    ['range-header', 'negative numbers (ignored)', get([auth, ['Range', 'bytes=-5--1']]), [200]],
    ['range-header', 'suffix larger than the body', get([auth, ['Range', 'bytes=-999999']]), [206]],
    ['range-header', 'last byte only', get([auth, ['Range', 'bytes=3-3']]), [206]],
    ['range-header', 'If-Range with garbage', get([auth, ['Range', 'bytes=0-1'], ['If-Range', '\u00ff\u00fe']]), [200]],
    ['protocol', 'CRLF in the request target', { method: 'GET', path: `/artifacts/x${CRLF}X-Injected: 1`, headers: [auth] }],
    ['protocol', 'absolute-form target to another host', get([auth], `http://evil.example/artifacts/${ctx.seedId}/content`), [200]],
    ['protocol', 'asterisk target', get([auth], '*')],
    ['protocol', 'unknown method', { method: 'PROPFIND', path: content, headers: [auth] }],
    ['protocol', 'TRACE', { method: 'TRACE', path: content, headers: [auth] }],
    ['protocol', 'HTTP/2 preface on HTTP/1.1', { method: 'PRI', path: '*', headers: [] }],
    ['protocol', 'lower-case method', { method: 'get', path: content, headers: [auth] }],
    ['protocol', 'fragment in target', get([auth], `${content}#frag`), [200]],
  ];
  // Node answers an HTTP/1.1 request without Host itself (an empty 400) before any handler runs.
  const nodeAnswers = new Set(['no Host header (HTTP/1.1)']);
  return list.map(([category, name, request, allowSuccess]) => ({ category, name, request, allowSuccess, anyErrorBody: nodeAnswers.has(name) }));
}
