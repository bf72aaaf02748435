import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  HTML,
  SCRIPT,
  SVG,
  XML,
  elf,
  jpeg,
  macho,
  mp4,
  pe,
  pickle,
  png,
  safetensors,
  torchCheckpoint,
  validSafetensors,
  zip,
} from '../../../../test/security/fixtures.js';
import { resolveStorageOptions, type ContentValidationOptions } from '../config/index.js';
import { ContentMismatchError } from '../errors/index.js';
import type { ContentInspector, InspectionContext } from '../hooks/index.js';
import { readAll } from '../streams/index.js';
import { CONTENT_VALIDATION_INSPECTORS } from './index.js';

function inspectors(contentValidation: ContentValidationOptions = {}): ContentInspector[] {
  const options = resolveStorageOptions({ defaultProvider: 'm', providers: { m: { type: 'memory' } }, contentValidation });
  return CONTENT_VALIDATION_INSPECTORS.map((Inspector) => new Inspector(options));
}

/** Runs the inspectors as StorageService does and drains the result; resolves to the bytes kept. */
async function check(
  body: Buffer | Buffer[],
  contentType: string,
  extra: Partial<InspectionContext> = {},
  settings?: ContentValidationOptions,
): Promise<Buffer> {
  const chunks = Array.isArray(body) ? body : [body];
  const [essence, ...params] = contentType.split(';');
  const context: InspectionContext = {
    artifactType: 'test',
    contentType: essence.trim(),
    contentTypeParams: Object.fromEntries(params.map((p) => p.trim().split('=') as [string, string])),
    contentLength: chunks.reduce((n, c) => n + c.length, 0),
    ...extra,
  };
  let stream: Readable = Readable.from(chunks, { objectMode: false });
  for (const inspector of inspectors(settings)) stream = await inspector.inspect(stream, context);
  return readAll(stream, 64 * 1024 * 1024);
}

const refused = (promise: Promise<unknown>) => expect(promise).rejects.toBeInstanceOf(ContentMismatchError);

/** Splits a buffer into chunks of `size` bytes, so checks see characters and headers cut in two. */
function chunked(data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out;
}

describe('content sniffing', () => {
  it('accepts bodies that are what they declare, byte for byte', async () => {
    expect(await check(png(), 'image/png')).toEqual(png());
    expect(await check(jpeg(), 'image/jpeg')).toEqual(jpeg());
    expect(await check(mp4(), 'video/mp4')).toEqual(mp4());
    expect(await check(mp4(), 'video/quicktime')).toEqual(mp4());
  });

  it('refuses a PNG declared video/mp4, and an MP4 declared image/png', async () => {
    const error = await check(png(), 'video/mp4').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ContentMismatchError);
    expect((error as ContentMismatchError).status).toBe(415);
    expect((error as ContentMismatchError).details).toMatchObject({ declared: 'video/mp4', detected: 'image/png' });
    await refused(check(mp4(), 'image/png'));
    await refused(check(jpeg(), 'image/png'));
  });

  it('refuses HTML, SVG and XML markup declared as an image, even after whitespace and a BOM', async () => {
    await refused(check(HTML, 'image/png'));
    await refused(check(SVG, 'image/png'));
    await refused(check(XML, 'image/jpeg'));
    await refused(check(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('\n\t  '), HTML]), 'image/gif'));
    await refused(check(Buffer.from('<html><body>x</body></html>'), 'video/mp4'));
  });

  it('refuses a body no sniffer recognises when the declared type is one it always recognises', async () => {
    await refused(check(Buffer.from('just some text'), 'image/png'));
    await refused(check(Buffer.alloc(0), 'image/png'));
  });

  it('refuses executables under every declared type, octet-stream included', async () => {
    for (const body of [elf(), pe(), macho()]) {
      await refused(check(body, 'image/png'));
      await refused(check(body, 'application/octet-stream'));
    }
  });

  it('refuses a shebang script declared as binary, accepts it declared as text', async () => {
    await refused(check(SCRIPT, 'image/png'));
    await refused(check(SCRIPT, 'application/octet-stream'));
    expect(await check(SCRIPT, 'text/plain')).toEqual(SCRIPT);
  });

  it('refuses a recognised binary format declared as text', async () => {
    await refused(check(png(), 'text/plain'));
    await refused(check(png(), 'application/json'));
  });

  it('accepts arbitrary bytes and markup as application/octet-stream (served as an attachment)', async () => {
    const random = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 37) % 251));
    expect(await check(random, 'application/octet-stream')).toEqual(random);
    expect(await check(HTML, 'application/octet-stream')).toEqual(HTML);
    expect(await check(png(), 'application/octet-stream')).toEqual(png());
  });

  it('sniff: false and block_executables: false let a mismatch through', async () => {
    expect(await check(png(), 'video/mp4', {}, { sniff: false })).toEqual(png());
    expect(await check(elf(), 'application/octet-stream', {}, { blockExecutables: false })).toEqual(elf());
    await refused(check(elf(), 'application/octet-stream', {}, { sniff: false })); // executables still blocked
  });
});

describe('text and JSON', () => {
  it('accepts UTF-8 text with multi-byte characters cut across chunks', async () => {
    const text = Buffer.from('Grüße, 世界! 🎨'.repeat(50));
    expect(await check(chunked(text, 7), 'text/plain')).toEqual(text);
    expect(await check(chunked(text, 1), 'text/markdown; charset=utf-8')).toEqual(text);
  });

  it('refuses invalid UTF-8, a truncated character, and another declared charset', async () => {
    await refused(check(Buffer.from([0x68, 0x69, 0xff, 0x21]), 'text/plain'));
    await refused(check(Buffer.from([0x68, 0xc3, 0x28]), 'text/markdown'));
    await refused(check(Buffer.from('caf\u00e9', 'utf8').subarray(0, 4), 'text/plain')); // ends mid-character
    await refused(check(Buffer.from([0xed, 0xa0, 0x80]), 'text/plain')); // an encoded surrogate
    await refused(check(Buffer.from('hello'), 'text/plain; charset=iso-8859-1'));
  });

  it('accepts one JSON document, however it is chunked', async () => {
    const doc = Buffer.from(JSON.stringify({ a: [1, 2, { b: 'x'.repeat(100), c: null }], d: true, e: -1.5e3, f: 'ü' }));
    expect(await check(chunked(doc, 3), 'application/json')).toEqual(doc);
    expect(await check(Buffer.from(' 42 '), 'application/json')).toEqual(Buffer.from(' 42 '));
    expect(await check(Buffer.from('"s"'), 'application/ld+json')).toEqual(Buffer.from('"s"'));
  });

  it('refuses malformed, truncated, empty, concatenated or trailing-garbage JSON', async () => {
    for (const text of ['{"a":1', '{"a":1,}', '[1,2', '', '   ', '{"a":1}{"b":2}', '{"a":1} x', "{'a':1}", 'NaN', '[1,]']) {
      await refused(check(Buffer.from(text), 'application/json'));
    }
  });

  it('follows the JSON grammar exactly: empty containers, nesting, and every misplaced token', async () => {
    for (const text of ['[]', '{}', '[[]]', '{"a":{}}', '[1,[2,{}],"x"]', '{"a":[],"b":{"c":null}}', 'true', 'null', '-0.5e-3', ' [ 1 , 2 ] ']) {
      expect((await check(Buffer.from(text), 'application/json')).toString(), text).toBe(text);
    }
    for (const text of ['{"a"}', '{:1}', '[,]', '{"a":1 "b":2}', '[1 2]', ']', '}', '"a":1', '{"a":[}', '[}', '{]', '{"a":1]', '[1}', '{1:2}', '[:]', ',', '{"a"::1}']) {
      const error = await check(Buffer.from(text), 'application/json').catch((e: unknown) => e);
      expect(error, text).toBeInstanceOf(ContentMismatchError);
    }
  });

  it('refuses JSON nested beyond 512 levels without recursing', async () => {
    const deep = Buffer.from('['.repeat(600) + ']'.repeat(600));
    await refused(check(deep, 'application/json'));
  });

  it('validates a large JSON body without holding it: many chunks pass through', async () => {
    const item = Buffer.from(`${JSON.stringify({ name: 'x'.repeat(40), values: [1, 2, 3] })},`);
    const chunks = [Buffer.from('{"items":['), ...Array.from({ length: 20_000 }, () => item), Buffer.from('0]}')];
    const kept = await check(chunks, 'application/json');
    expect(kept.length).toBe(chunks.reduce((n, c) => n + c.length, 0));
  });

  it('utf8_text: false and json: false turn the checks off', async () => {
    expect(await check(Buffer.from([0xff]), 'text/plain', {}, { utf8Text: false })).toEqual(Buffer.from([0xff]));
    expect(await check(Buffer.from('{'), 'application/json', {}, { json: false })).toEqual(Buffer.from('{'));
  });
});

describe('model weights', () => {
  it('accepts a valid safetensors file, sniffed or declared by name, in small chunks', async () => {
    const file = validSafetensors();
    expect(await check(file, 'application/octet-stream')).toEqual(file);
    expect(await check(chunked(file, 5), 'application/octet-stream', { filename: 'model.safetensors', contentLength: undefined })).toEqual(file);
    expect(await check(safetensors({}), 'application/octet-stream', { filename: 'empty.safetensors' })).toEqual(safetensors({}));
  });

  it('refuses safetensors headers that lie', async () => {
    const cases: Record<string, Buffer> = {
      'unknown dtype': safetensors({ t: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } }),
      'span does not match shape': safetensors({ t: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } }),
      'offsets past the body': safetensors({ t: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, Buffer.alloc(8)),
      'overlapping tensors': safetensors(
        { a: { dtype: 'U8', shape: [4], data_offsets: [0, 4] }, b: { dtype: 'U8', shape: [4], data_offsets: [2, 6] } },
        Buffer.alloc(6),
      ),
      'a gap before the first tensor': safetensors({ a: { dtype: 'U8', shape: [4], data_offsets: [4, 8] } }, Buffer.alloc(8)),
      'bytes after the last tensor': Buffer.concat([validSafetensors(), Buffer.alloc(3)]),
      'negative shape': safetensors({ t: { dtype: 'U8', shape: [-1], data_offsets: [0, 0] } }),
      'metadata not strings': safetensors({ __metadata__: { n: 1 } }),
      'header is an array': Buffer.concat([Buffer.from([2, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('[]')]),
    };
    for (const [name, body] of Object.entries(cases)) {
      const error = await check(body, 'application/octet-stream', { filename: 'm.safetensors' }).catch((e: unknown) => e);
      expect(error, name).toBeInstanceOf(ContentMismatchError);
    }
  });

  it('refuses a header length beyond the limit or the body, before reading the header', async () => {
    const huge = Buffer.alloc(16);
    huge.writeBigUInt64LE(200_000_000n);
    huge[8] = 0x7b;
    await refused(check(huge, 'application/octet-stream', { filename: 'x.safetensors' }));
    const longer = Buffer.alloc(16);
    longer.writeBigUInt64LE(1000n);
    longer[8] = 0x7b;
    await refused(check(longer, 'application/octet-stream'));
    const big = safetensors({ __metadata__: { note: 'n'.repeat(2000) } });
    expect(await check(big, 'application/octet-stream', {}, { maxSafetensorsHeader: 4096 })).toEqual(big);
    await refused(check(big, 'application/octet-stream', {}, { maxSafetensorsHeader: 1024 }));
    await refused(check(Buffer.from([1, 0, 0]), 'application/octet-stream', { filename: 'short.safetensors' }));
  });

  it('refuses pickles: raw protocols 2-5 and zip-wrapped PyTorch checkpoints', async () => {
    await refused(check(pickle(), 'application/octet-stream'));
    await refused(check(Buffer.from([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e]), 'application/octet-stream'));
    await refused(check(torchCheckpoint(), 'application/octet-stream', { filename: 'model.pt' }));
  });

  it('finds a pickle entry deep in a zip, whatever the chunking', async () => {
    const file = zip([
      { name: 'weights/0', data: Buffer.alloc(3000, 1) },
      { name: 'archive/data.pkl', data: pickle() },
    ]);
    for (const size of [1, 7, 29, 64, 4096]) await refused(check(chunked(file, size), 'application/octet-stream'));
    const clean = zip([{ name: 'readme.txt', data: Buffer.from('hello') }]);
    expect(await check(chunked(clean, 3), 'application/octet-stream')).toEqual(clean);
  });

  it('allow_pickle: true lets pickles through', async () => {
    expect(await check(pickle(), 'application/octet-stream', {}, { allowPickle: true })).toEqual(pickle());
    expect(await check(torchCheckpoint(), 'application/octet-stream', {}, { allowPickle: true })).toEqual(torchCheckpoint());
  });
});
