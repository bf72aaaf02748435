import { createHash } from 'node:crypto';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { ChecksumMismatchError, IncompleteBodyError, PayloadTooLargeError } from '../errors/index.js';
import { MeteredStream } from './metered-stream.js';
import { holdErrors, peekHead } from './body.js';

/** A source that yields `count` chunks of `size` bytes and records how many it handed out. */
function counting(count: number, size: number) {
  const state = { produced: 0 };
  const stream = Readable.from(
    (function* () {
      for (let i = 0; i < count; i++) {
        state.produced++;
        yield Buffer.alloc(size, i % 256);
      }
    })(),
  );
  return { stream, state };
}

const sink = () =>
  new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });

describe('MeteredStream', () => {
  it('counts and hashes what passes', async () => {
    const meter = new MeteredStream();
    await pipeline(Readable.from([Buffer.from('hello '), Buffer.from('world')]), meter, sink());
    expect(meter.bytesSeen).toBe(11);
    expect(meter.sha256).toBe(createHash('sha256').update('hello world').digest('hex'));
  });

  it('stops reading as soon as the limit is crossed (never the whole body)', async () => {
    const { stream, state } = counting(10_000, 1024); // 10 MB offered
    const meter = new MeteredStream({ maxBytes: 64 * 1024 });
    await expect(pipeline(stream, meter, sink())).rejects.toBeInstanceOf(PayloadTooLargeError);
    expect(state.produced).toBeLessThan(200); // 65 chunks + stream buffers, far from 10,000
  });

  it('refuses a body shorter or longer than declared', async () => {
    await expect(pipeline(Readable.from([Buffer.alloc(5)]), new MeteredStream({ expectedLength: 6 }), sink())).rejects.toBeInstanceOf(IncompleteBodyError);
    await expect(pipeline(Readable.from([Buffer.alloc(7)]), new MeteredStream({ expectedLength: 6 }), sink())).rejects.toBeInstanceOf(IncompleteBodyError);
  });

  it('refuses a body whose SHA-256 differs from the declared one', async () => {
    const expectedSha256 = createHash('sha256').update('other').digest('hex');
    await expect(pipeline(Readable.from([Buffer.from('data')]), new MeteredStream({ expectedSha256 }), sink())).rejects.toBeInstanceOf(ChecksumMismatchError);
  });
});

describe('peekHead', () => {
  it('returns the head and replays the whole body', async () => {
    const { head, body } = await peekHead(Readable.from([Buffer.from('ab'), Buffer.from('cdef'), Buffer.from('gh')]), 3);
    expect(head.toString()).toBe('abc');
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('abcdefgh');
  });

  it('handles bodies shorter than the head', async () => {
    const { head, body } = await peekHead(Readable.from([Buffer.from('ab')]), 10);
    expect(head.toString()).toBe('ab');
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('ab');
  });

  it('hands back the source itself, head first, when the body is longer than the head', async () => {
    const source = Readable.from([Buffer.alloc(3000, 1), Buffer.alloc(3000, 2), Buffer.alloc(3000, 3)], { objectMode: false });
    const { head, body } = await peekHead(source, 4100);
    expect(body).toBe(source);
    expect(head.length).toBe(4100);
    const all = Buffer.concat(await body.toArray());
    expect(all.length).toBe(9000);
    expect([all[0], all[2999], all[3000], all[5999], all[6000], all[8999]]).toEqual([1, 1, 2, 2, 3, 3]);
  });

  it('keeps every byte of a large body piped after the peek', async () => {
    const { stream, state } = counting(64, 64 * 1024);
    const { body } = await peekHead(stream, 100_000);
    const meter = new MeteredStream();
    await pipeline(body, meter, sink());
    expect(state.produced).toBe(64);
    expect(meter.bytesSeen).toBe(64 * 64 * 1024);
  });

  it('rejects with the error of a source that fails before the head is read', async () => {
    const source = new Readable({ read() {} });
    source.push(Buffer.from('ab'));
    setTimeout(() => source.destroy(new IncompleteBodyError('client left')), 5);
    await expect(peekHead(source, 10)).rejects.toBeInstanceOf(IncompleteBodyError);
  });

  it('rejects for a source destroyed already', async () => {
    const source = new Readable({ read() {} });
    source.destroy();
    await expect(peekHead(source, 10)).rejects.toBeInstanceOf(IncompleteBodyError);
  });
});

describe('holdErrors', () => {
  it('keeps the failure of an unread stream for the pipeline that reads it later', async () => {
    const body = holdErrors(new PassThrough());
    body.write('partial');
    body.destroy(new IncompleteBodyError('client left')); // would be an uncaught error without the hold
    await new Promise((resolve) => setImmediate(resolve));
    await expect(pipeline(body, sink())).rejects.toBeInstanceOf(IncompleteBodyError);
  });
});
