import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { JsonValidatingStream, SafetensorsValidatingStream, Utf8ValidatingStream } from '@app/storage';
import { safetensors } from './fixtures.js';

/**
 * Prints the throughput of the streaming content checks (figures, not assertions: the machine
 * is shared). Reproduce: npx vitest run test/security/validation-throughput.spec.ts
 */
const MB = 1024 * 1024;

async function throughput(name: string, chunks: () => Iterable<Buffer>, check: () => Transform): Promise<number> {
  let bytes = 0;
  const started = performance.now();
  await pipeline(Readable.from(chunks(), { objectMode: false }), check(), async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) bytes += chunk.length;
  });
  const seconds = (performance.now() - started) / 1000;
  console.log(`${name}: ${(bytes / MB).toFixed(1)} MiB in ${seconds.toFixed(2)} s = ${(bytes / MB / seconds).toFixed(1)} MiB/s`);
  return bytes;
}

describe('content check throughput (printed)', () => {
  it('UTF-8, JSON and safetensors checks stream 16 MiB each', async () => {
    const phrase = Buffer.from('Grüße aus der Pipeline, 世界 🎨 — ');
    const text = Buffer.concat(Array.from({ length: Math.ceil((16 * MB) / phrase.length) }, () => phrase));
    const item = Buffer.from(`${JSON.stringify({ id: 'x'.repeat(24), prompt: 'a lighthouse at dusk', seed: 1234567, tags: ['a', 'b'], ok: true })},`);
    const jsonChunk = Buffer.concat(Array.from({ length: Math.floor((64 * 1024) / item.length) }, () => item));
    const count = 256;
    // Chunks of an odd size cut characters in two: the decoder must carry them over.
    const utf8 = await throughput('utf-8', function* () {
      for (let i = 0; i < text.length; i += 65_533) yield text.subarray(i, i + 65_533);
    }, () => new Utf8ValidatingStream());
    const json = await throughput('json', function* () {
      yield Buffer.from('[');
      for (let i = 0; i < count; i++) yield jsonChunk;
      yield Buffer.from('0]');
    }, () => new JsonValidatingStream());
    const tensors = 16 * MB;
    const weights = safetensors({ w: { dtype: 'U8', shape: [tensors], data_offsets: [0, tensors] } }, Buffer.alloc(0));
    const st = await throughput('safetensors', function* () {
      yield weights;
      const block = Buffer.alloc(64 * 1024, 7);
      for (let i = 0; i < tensors / block.length; i++) yield block;
    }, () => new SafetensorsValidatingStream({ maxHeader: 100_000_000 }));
    expect(json).toBeGreaterThan(count * jsonChunk.length);
    expect(st).toBe(weights.length + tensors);
    expect(utf8).toBe(text.length);
  });
});
