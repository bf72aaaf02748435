import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { RetainedMemoryMeter } from '../../../../test/conformance/support.js';
import { JsonValidatingStream } from './text-streams.js';

const MiB = 1024 * 1024;

/** `head`, then `size` bytes of `unit` repeated (in 64 KiB chunks, made as they are read), then `tail`. */
function body(head: string, unit: string, size: number, tail: string): Readable {
  const chunk = Buffer.from(unit.repeat(Math.floor((64 * 1024) / unit.length)));
  async function* chunks(): AsyncGenerator<Buffer> {
    yield Buffer.from(head);
    for (let sent = 0; sent < size; sent += chunk.length) yield chunk;
    yield Buffer.from(tail);
  }
  return Readable.from(chunks(), { objectMode: false });
}

/** Validates a body, draining what passes; returns the peak of retained memory while it ran. */
async function retainedWhileValidating(source: Readable): Promise<number> {
  const meter = new RetainedMemoryMeter();
  meter.start();
  let seen = 0;
  await pipeline(
    source,
    new JsonValidatingStream(),
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        seen += chunk.length;
        if (seen % (2 * MiB) < chunk.length) meter.sample();
        done();
      },
    }),
  );
  meter.sample();
  return meter.result().growth;
}

describe('JSON validation memory', () => {
  // One value as long as the body: a JSON validator that assembles values holds it all (one that
  // keeps a slot per character holds dozens of times the body).
  const cases: [string, () => Readable][] = [
    ['a 16 MiB string', () => body('{"s":"', 'abcdefgh', 16 * MiB, '"}')],
    ['a 16 MiB string of escapes', () => body('["', '\\"\\n', 16 * MiB, '"]')],
    ['a 16 MiB number', () => body('[1', '0123456789', 16 * MiB, ']')],
    ['a 16 MiB key', () => body('{"', 'k', 16 * MiB, '":1}')],
  ];

  it('stays bounded when the body comes as one 32 MiB chunk, and refuses deep nesting in it early', async () => {
    const array = Buffer.alloc(32 * MiB, '1,');
    array[0] = 0x5b; // [
    array[1] = 0x31; // [1, then 1,1,1,...
    array[array.length - 1] = 0x5d; // ]
    expect(await retainedWhileValidating(Readable.from([array], { objectMode: false }))).toBeLessThan(8 * MiB);
    const brackets = Buffer.alloc(32 * MiB, '['); // the body itself is not counted
    const meter = new RetainedMemoryMeter();
    meter.start();
    const deep = Readable.from([brackets], { objectMode: false });
    await expect(pipeline(deep, new JsonValidatingStream(), new Writable({ write: (_chunk, _encoding, done) => done() }))).rejects.toThrow('nesting deeper than 512');
    meter.sample();
    expect(meter.result().growth).toBeLessThan(8 * MiB);
  }, 60_000);

  it.each(cases)('stays bounded for %s', async (_name, make) => {
    const growth = await retainedWhileValidating(make());
    console.info(`[json memory] ${_name}: retained peak +${(growth / MiB).toFixed(1)} MiB`);
    expect(growth).toBeLessThan(8 * MiB);
  }, 60_000);
});
