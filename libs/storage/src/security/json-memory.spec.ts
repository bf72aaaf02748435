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

  it.each(cases)('stays bounded for %s', async (_name, make) => {
    const growth = await retainedWhileValidating(make());
    console.info(`[json memory] ${_name}: retained peak +${(growth / MiB).toFixed(1)} MiB`);
    expect(growth).toBeLessThan(8 * MiB);
  }, 60_000);
});
