import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ChecksumMismatchError, InvalidArgumentError } from '../errors/index.js';
import { readAll } from '../streams/index.js';
import { StorageProvider, type BodySource } from './storage-provider.js';

/** Only what verifiedBody needs of a provider. */
abstract class Probe extends StorageProvider {
  check(body: BodySource, sha256?: string, contentLength?: number): BodySource {
    return this.verifiedBody(body, { sha256, contentLength });
  }
}
const probe = Object.create(Probe.prototype) as Probe;
const sha = (data: string) => createHash('sha256').update(data).digest('hex');

const source = (chunks: string[]) => Readable.from(chunks.map((chunk) => Buffer.from(chunk)));

describe('StorageProvider.verifiedBody', () => {
  it('passes a matching stream through and fails a different one at its end', async () => {
    expect((await readAll(probe.check(source(['ab', 'cd']), sha('abcd')) as Readable)).toString()).toBe('abcd');
    await expect(readAll(probe.check(source(['ab', 'cd']), sha('abce')) as Readable)).rejects.toBeInstanceOf(ChecksumMismatchError);
  });

  it('checks a Buffer at once, and leaves a body alone without a checksum', () => {
    const body = Buffer.from('abcd');
    expect(probe.check(body, sha('abcd'))).toBe(body);
    expect(() => probe.check(body, sha('other'))).toThrow(ChecksumMismatchError);
    expect(() => probe.check(body, 'not-hex')).toThrow(InvalidArgumentError);
    expect(probe.check(body)).toBe(body);
  });

  it('destroying what it returns destroys the body at once, even one waiting for its client', async () => {
    // A body that sends one chunk, then waits (a client gone quiet).
    const idle = new Readable({ read() {} });
    idle.push(Buffer.from('ab'));
    const checked = probe.check(idle, sha('abcd')) as Readable;
    checked.resume();
    await new Promise((resolve) => setImmediate(resolve));
    checked.destroy(new Error('the backend refused the upload'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(idle.destroyed).toBe(true);
    expect(checked.destroyed).toBe(true);
  });

  it('counts bytes, not characters, of a body that yields strings', async () => {
    const text = Readable.from(['héllo']);
    const checked = probe.check(text, sha('héllo'), Buffer.byteLength('héllo')) as Readable;
    expect((await readAll(checked)).toString()).toBe('héllo');
  });
});
