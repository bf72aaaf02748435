import { describe, expect, it } from 'vitest';
import { InvalidKeyError } from '../errors/index.js';
import { assertIdentifier, assertValidKey, buildArtifactKey, buildTempKey, isValidKey } from './storage-key.js';

describe('assertValidKey', () => {
  it.each([
    'a',
    'default/image/board_123/artifact_456_20241230143000_a1b2c3d4/original.png',
    'spaces are fine/and unicode: 日本語 ünï',
    'plus+equals=percent%sign',
    '100%',
    'a%2Fb', // decodes to a/b: not a traversal
    'x'.repeat(255),
    'emoji 🎨/file',
    '...hidden/..dots.',
  ])('accepts %j', (key) => {
    expect(isValidKey(key)).toBe(true);
  });

  it.each([
    ['', 'empty'],
    ['../etc/passwd', '".." segment'],
    ['a/../../b', '".." segment'],
    ['a/./b', '"." segment'],
    ['/abs/path', 'leading slash'],
    ['a\\b', 'backslash'],
    ['a//b', 'empty segment'],
    ['a/', 'trailing slash'],
    ['a\0b', 'control character'],
    ['a\nb', 'control character'],
    ['a\u202Eb', 'bidirectional'],
    ['a\u2215..\u2215b', 'look-alike'],
    ['\uFF0E\uFF0E/x', 'NFKC'],
    ['%2e%2e/x', 'percent-decoding'],
    ['%252e%252e/x', 'percent-decoding'],
    ['a/%2e%2e%2fb', 'percent-decoding'],
    ['%5c..%5cwin', 'percent-decoding'],
    ['a%00b', 'percent-decoding'],
    ['%2fabs', 'percent-decoding'],
    ['x'.repeat(256), 'segment longer'],
    [`${'abcdefgh/'.repeat(114)}x`, 'longer than 1024'],
    ['\uD800lone', 'surrogate'],
  ])('refuses %j (%s)', (key, reason) => {
    expect(() => assertValidKey(key)).toThrowError(InvalidKeyError);
    expect(() => assertValidKey(key)).toThrowError(new RegExp(reason.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  });

  it('refuses non-strings with a typed error', () => {
    expect(() => assertValidKey(42 as unknown as string)).toThrowError(InvalidKeyError);
    expect(() => assertValidKey(undefined as unknown as string)).toThrowError(InvalidKeyError);
  });

  it('never echoes a huge hostile key in full', () => {
    try {
      assertValidKey(`../${'A'.repeat(10_000)}`);
      expect.fail('should throw');
    } catch (error) {
      expect((error as Error).message.length).toBeLessThan(200);
    }
  });
});

describe('assertIdentifier', () => {
  it.each(['b1', 'board_123', 'a.b-c', 'X'])('accepts %j', (value) => expect(() => assertIdentifier(value, 'board id')).not.toThrow());
  it.each(['', '..', 'a..b', '.hidden', '-x', 'a/b', 'a b', 'ü', 'x'.repeat(129)])('refuses %j', (value) => {
    expect(() => assertIdentifier(value, 'board id')).toThrowError(/Invalid board id/);
  });
});

describe('buildArtifactKey', () => {
  const now = new Date('2024-12-30T14:30:00.000Z');

  it('follows the design: {tenant}/{type}/{board}/{artifact}_{timestamp}_{uuid}/{variant}', () => {
    expect(
      buildArtifactKey({ tenant: 'default', artifactType: 'image', boardId: 'board_123', artifactId: 'artifact_456', variant: 'original.png', now, unique: 'a1b2c3d4' }),
    ).toBe('default/image/board_123/artifact_456_20241230143000_a1b2c3d4/original.png');
  });

  it('omits the board for global artifacts', () => {
    expect(buildArtifactKey({ tenant: 'default', artifactType: 'model', artifactId: 'lora_789', variant: 'weights.safetensors', now, unique: 'e5f6g7h8' })).toBe(
      'default/model/lora_789_20241230143000_e5f6g7h8/weights.safetensors',
    );
  });

  it('makes a different key each time (collision prevention)', () => {
    const parts = { tenant: 't', artifactType: 'image', boardId: 'b', artifactId: 'a', variant: 'original', now };
    expect(buildArtifactKey(parts)).not.toBe(buildArtifactKey(parts));
  });

  it('refuses hostile parts', () => {
    expect(() => buildArtifactKey({ tenant: '..', artifactType: 'image', artifactId: 'a', variant: 'v' })).toThrowError(InvalidKeyError);
    expect(() => buildArtifactKey({ tenant: 't', artifactType: 'image/../x', artifactId: 'a', variant: 'v' })).toThrowError(InvalidKeyError);
  });

  it('puts temporary artifacts under temp/{tenant}/', () => {
    expect(buildTempKey('t1', 'generation_xyz', 'mask', 'input_mask.png', now)).toMatch(/^temp\/t1\/generation_xyz\/mask_20241230143000_[0-9a-f]{8}\/input_mask\.png$/);
  });
});
