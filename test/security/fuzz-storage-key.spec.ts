import { resolve, sep } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidKeyError, assertValidKey, isValidKey } from '@app/storage';

const ROOT = resolve('/srv/boards-storage/root');
const RUNS = { numRuns: 3000 };

/** UTF-8 percent-decoding, lenient like most servers (undecodable runs stay as they are). */
function decodeUtf8(value: string): string {
  return value.replace(/(?:%[0-9a-fA-F]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

/** Byte-wise decoding (each %XX one Latin-1 character), as a naive component would do it. */
function decodeBytes(value: string): string {
  return value.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/**
 * Every reading of a key a component downstream might make: decoded 0-6 times as UTF-8 or byte
 * by byte, with or without NFKC. (Byte-wise readings turn %80-%9F into C1 controls by design of
 * Latin-1; only C0 controls and DEL count as dangerous there.)
 */
function readings(key: string): Array<{ reading: string; bytewise: boolean }> {
  const out = new Map<string, boolean>();
  for (const decode of [decodeUtf8, decodeBytes]) {
    let current = key;
    for (let depth = 0; depth <= 6; depth++) {
      for (const form of [current, current.normalize('NFKC')]) if (!out.has(form) || out.get(form)) out.set(form, decode === decodeBytes && depth > 0);
      current = decode(current);
    }
  }
  return [...out].map(([reading, bytewise]) => ({ reading, bytewise }));
}

function dangerIn(reading: string, bytewise: boolean): string | undefined {
  if (reading.startsWith('/')) return 'leading slash';
  if (reading.includes('\\')) return 'backslash';
  if ((bytewise ? /[\x00-\x1f\x7f]/ : /\p{Cc}/u).test(reading)) return 'control character';
  if (reading.split('/').some((segment) => segment === '..')) return '".." segment';
  return undefined;
}

function assertSafe(key: string): void {
  for (const { reading, bytewise } of readings(key)) {
    const danger = dangerIn(reading, bytewise);
    if (danger) throw new Error(`accepted ${JSON.stringify(key)}, which reads as ${JSON.stringify(reading)} (${danger})`);
  }
  const path = resolve(ROOT, key);
  if (!path.startsWith(ROOT + sep)) throw new Error(`accepted ${JSON.stringify(key)}, which resolves to ${path}`);
}

// Pieces that attacks are made of, so that random keys hit the interesting cases often.
const HOSTILE_TOKENS = [
  '..', '.', '/', '\\', 'a', 'b7', ' ', '~', '%', '%2e', '%2E', '%2f', '%2F', '%5c', '%00', '%0a', '%25', '%252e', '%252f', '%2525252e', '%2525252f',
  '%c0%ae', '%c0%af', '%e0%80%ae', '%ef%bc%8e', '%ef%bc%8f', '%e2%88%95', '\u0000', '\t', '\n', '\u007f', '\u0085',
  '\uFF0E', '\uFF0F', '\uFF3C', '\u2215', '\u2024', '\uFE52', '\u2025', '\u202E', '\u200B', '\uFEFF', '\uD800', 'ﬀ', 'Å',
];
const hostileKey = fc.array(fc.constantFrom(...HOSTILE_TOKENS), { minLength: 1, maxLength: 14 }).map((parts) => parts.join(''));

// Awkward but harmless: spaces, punctuation, non-Latin scripts, emoji, `%` that decodes to nothing dangerous.
const AWKWARD = ['a', 'Z', 'q', '7', '9', ' ', '+', '=', '@', '!', '~', '(', ')', ',', ';', '&', "'", '$', '%', '.', '-', '_', 'é', 'ß', '日', '本', 'ж', 'ع', '😀', '#', '[', ']', '{', '}', '^', '`'];
const awkwardSegment = fc
  .array(fc.constantFrom(...AWKWARD), { minLength: 1, maxLength: 20 })
  .map((chars) => chars.join(''))
  .filter((segment) => segment !== '.' && segment !== '..');
const awkwardKey = fc.array(awkwardSegment, { minLength: 1, maxLength: 6 }).map((segments) => segments.join('/'));

describe('fuzz: storage key validation', () => {
  it('accepts no key that escapes after decoding or NFKC, from any unicode string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (key) => {
        if (isValidKey(key)) assertSafe(key);
      }),
      RUNS,
    );
  });

  it('accepts no key that escapes, from keys built of attack pieces', () => {
    fc.assert(
      fc.property(hostileKey, (key) => {
        if (isValidKey(key)) assertSafe(key);
      }),
      { numRuns: 20_000 },
    );
  });

  it('refuses only with InvalidKeyError, whatever the input', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), hostileKey, fc.anything()), (value) => {
        try {
          assertValidKey(value);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidKeyError);
        }
      }),
      RUNS,
    );
  });

  it('accepts awkward but valid keys, and they stay inside the root', () => {
    fc.assert(
      fc.property(awkwardKey, (key) => {
        expect(isValidKey(key), JSON.stringify(key)).toBe(true);
        assertSafe(key);
      }),
      RUNS,
    );
  });

  it('refuses each classic escape (examples the properties must keep covering)', () => {
    for (const key of ['../x', 'a/../../x', '/etc/passwd', 'a\\b', '%2e%2e/x', '%252e%252e/x', '%25252e%25252e/x', '\uFF0E\uFF0E/x', 'a/\u2215/b', 'a\u0000b', 'a/./b', 'a//b']) {
      expect(isValidKey(key), JSON.stringify(key)).toBe(false);
    }
  });
});
