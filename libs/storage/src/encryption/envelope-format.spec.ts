import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigurationError, CorruptionError, EncryptionKeyUnavailableError } from '../errors/index.js';
import { validatePlain } from '../config/index.js';
import { LocalProviderConfig } from '../providers/local/local.provider.js';
import { HEADER_BYTES, TAG_BYTES, createHeader, layoutOf, parseHeader } from './envelope-format.js';
import { MasterKeyring } from './master-keyring.js';

const key = () => randomBytes(32).toString('base64');

describe('encrypted object layout', () => {
  it('derives the plaintext size from the file size for every chunk position', () => {
    const chunk = 1024;
    for (const plain of [0, 1, chunk - 1, chunk, chunk + 1, 3 * chunk, 3 * chunk + 5]) {
      const frames = Math.max(1, Math.ceil(plain / chunk));
      const fileSize = HEADER_BYTES + plain + frames * TAG_BYTES;
      const layout = layoutOf(fileSize, chunk);
      expect(layout).toMatchObject({ plaintextSize: plain, frames });
    }
  });

  it('calls impossible lengths corruption', () => {
    expect(() => layoutOf(HEADER_BYTES + TAG_BYTES - 1, 1024)).toThrow(CorruptionError);
    expect(() => layoutOf(HEADER_BYTES + 1024 + TAG_BYTES + 3, 1024)).toThrow(CorruptionError);
    expect(() => layoutOf(10, 1024)).toThrow(CorruptionError);
    // The chunk size also comes from metadata: a tampered one is corruption, not arithmetic.
    expect(() => layoutOf(HEADER_BYTES + 100, 1.5)).toThrow(CorruptionError);
    expect(() => layoutOf(HEADER_BYTES + 100, 0)).toThrow(CorruptionError);
  });

  it('round-trips a header and refuses unknown versions and foreign bytes', () => {
    const header = createHeader(4096);
    expect(parseHeader(header.raw)).toMatchObject({ chunkSize: 4096 });
    expect(parseHeader(header.raw).salt.equals(header.salt)).toBe(true);
    const future = Buffer.from(header.raw);
    future[8] = 2;
    expect(() => parseHeader(future)).toThrow(CorruptionError);
    expect(() => parseHeader(Buffer.alloc(HEADER_BYTES))).toThrow(CorruptionError);
  });
});

describe('master keyring', () => {
  it('reports every configuration problem with its path', () => {
    let caught: unknown;
    try {
      MasterKeyring.fromConfig({ 'bad id': key(), k1: 'c2hvcnQ=', k2: 'not base64 !!' }, 'k9', 'providers.local.config.encryption');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigurationError);
    const problems = (caught as ConfigurationError).problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^providers\.local\.config\.encryption\.master_keys\.bad id: key ids/),
        expect.stringMatching(/^providers\.local\.config\.encryption\.master_keys\.k1: must be 32 random bytes/),
        expect.stringMatching(/^providers\.local\.config\.encryption\.master_keys\.k2: must be 32 random bytes/),
        expect.stringMatching(/^providers\.local\.config\.encryption\.active_key_id: "k9" is not one of/),
      ]),
    );
  });

  it('needs active_key_id only when several keys are configured', () => {
    expect(MasterKeyring.fromConfig({ only: key() }, undefined, 'x').activeKeyId).toBe('only');
    expect(() => MasterKeyring.fromConfig({ a: key(), b: key() }, undefined, 'x')).toThrow(/active_key_id: required/);
    expect(() => MasterKeyring.fromConfig({}, undefined, 'x')).toThrow(/at least one master key/);
  });

  it('accepts base64url keys', () => {
    const bytes = randomBytes(32);
    expect(MasterKeyring.fromConfig({ k: bytes.toString('base64url') }, 'k', 'x').has('k')).toBe(true);
  });

  it('unwraps what it wrapped, and tells a missing or different key from a tampered envelope', () => {
    const k1 = key();
    const ring = MasterKeyring.fromConfig({ k1 }, 'k1', 'cfg');
    const header = createHeader(1024);
    const dataKey = randomBytes(32);
    const envelope = ring.wrap(dataKey, header);
    expect(envelope.keyId).toBe('k1');
    expect(ring.unwrap(envelope, header, 'obj').equals(dataKey)).toBe(true);

    expect(() => MasterKeyring.fromConfig({ k2: key() }, 'k2', 'cfg').unwrap(envelope, header, 'obj')).toThrow(EncryptionKeyUnavailableError);
    expect(() => MasterKeyring.fromConfig({ k2: key() }, 'k2', 'cfg').unwrap(envelope, header, 'obj')).toThrow(/master key "k1", which is not in cfg\.master_keys/);
    expect(() => MasterKeyring.fromConfig({ k1: key() }, 'k1', 'cfg').unwrap(envelope, header, 'obj')).toThrow(/is not the key that encrypted/);

    // The envelope is bound to the header: it does not open another object's key.
    expect(() => ring.unwrap(envelope, createHeader(1024), 'obj')).toThrow(CorruptionError);
    const flipped = Buffer.from(envelope.wrappedKey, 'base64url');
    flipped[20] ^= 1;
    expect(() => ring.unwrap({ ...envelope, wrappedKey: flipped.toString('base64url') }, header, 'obj')).toThrow(CorruptionError);
  });

  it('validates the encryption block of the local config, unknown options included', () => {
    const checked = validatePlain(
      LocalProviderConfig,
      { base_path: '/tmp/x', encryption: { master_keys: { k: key() }, chunk_size: 10, surprise: true } },
      'providers.local.config',
    );
    expect(checked.problems).toEqual(
      expect.arrayContaining([
        'providers.local.config.encryption.surprise: is not a known option',
        expect.stringMatching(/^providers\.local\.config\.encryption\.chunk_size: /),
      ]),
    );
  });
});
