import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  InvalidArgumentError,
  RangeNotSatisfiableError,
  contentRangeHeader,
  parseRangeHeader,
  resolveRange,
  type ByteRange,
} from '@app/storage';

const RUNS = { numRuns: 5000 };

/** Object sizes from empty to the largest safe integer, weighted towards small ones. */
const size = fc.oneof(fc.nat(10), fc.nat(100_000), fc.maxSafeNat());

/** Header values near the grammar: numbers of every size and sign, spaces, junk, several ranges. */
const number = fc.oneof(fc.nat(20).map(String), fc.maxSafeNat().map(String), fc.bigInt({ min: 0n, max: 10n ** 30n }).map(String), fc.constantFrom('', '-1', '1.5', '1e3', '0x1f', ' 7', '٣', 'NaN', '00', '-0'));
const header = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.tuple(fc.constantFrom('bytes=', 'Bytes=', 'bytes =', 'items=', ' bytes=', 'bytes=='), number, fc.constantFrom('-', '--', '', ' - '), number, fc.constantFrom('', ',0-1', ' ', ',')).map((p) => p.join('')),
);

/** ByteRange objects as code (not headers) might pass them: any numbers at all. */
const anyNumber = fc.oneof(fc.integer(), fc.double(), fc.maxSafeNat(), fc.constantFrom(NaN, Infinity, -Infinity, -0, 2 ** 53, Number.MAX_VALUE));
const rawRange: fc.Arbitrary<ByteRange> = fc.oneof(
  fc.record({ start: anyNumber, end: fc.option(anyNumber, { nil: undefined }) }),
  fc.record({ suffix: anyNumber }),
);

function expectTypedFailure(run: () => unknown): unknown {
  try {
    return run();
  } catch (error) {
    if (!(error instanceof RangeNotSatisfiableError) && !(error instanceof InvalidArgumentError)) throw error;
    return error;
  }
}

describe('fuzz: range parsing and resolution', () => {
  it('parses any header without throwing, to nothing or a well-formed range', () => {
    fc.assert(
      fc.property(header, (value) => {
        const range = parseRangeHeader(value);
        if (range === undefined) return;
        if ('suffix' in range) expect(Number.isSafeInteger(range.suffix) && range.suffix >= 0).toBe(true);
        else {
          expect(Number.isSafeInteger(range.start) && range.start >= 0).toBe(true);
          if (range.end !== undefined) expect(Number.isSafeInteger(range.end) && range.end >= range.start).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it('resolves parsed headers inside the object, or fails with a typed error only', () => {
    fc.assert(
      fc.property(header, size, (value, total) => {
        const range = parseRangeHeader(value);
        if (!range) return;
        const resolved = expectTypedFailure(() => resolveRange(range, total));
        if (resolved instanceof Error) return;
        const r = resolved as ReturnType<typeof resolveRange>;
        expect(r.total).toBe(total);
        expect(0 <= r.start && r.start <= r.end && r.end < total).toBe(true);
      }),
      RUNS,
    );
  });

  it('never throws anything but the two typed errors for arbitrary range objects', () => {
    fc.assert(
      fc.property(rawRange, size, (range, total) => {
        const resolved = expectTypedFailure(() => resolveRange(range, total));
        if (resolved instanceof Error) return;
        const r = resolved as ReturnType<typeof resolveRange>;
        expect(Number.isSafeInteger(r.start) && Number.isSafeInteger(r.end)).toBe(true);
        expect(0 <= r.start && r.start <= r.end && r.end < total).toBe(true);
      }),
      RUNS,
    );
  });

  it('round-trips formatted ranges, and resolves them by the RFC 9110 rules', () => {
    const formatted = fc.oneof(
      fc.tuple(fc.maxSafeNat(), fc.maxSafeNat()).map(([a, b]) => ({ start: Math.min(a, b), end: Math.max(a, b) }) as ByteRange),
      fc.maxSafeNat().map((start) => ({ start }) as ByteRange),
      fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }).map((suffix) => ({ suffix }) as ByteRange),
    );
    const format = (r: ByteRange) => ('suffix' in r ? `bytes=-${r.suffix}` : `bytes=${r.start}-${r.end ?? ''}`);
    fc.assert(
      fc.property(formatted, size, (range, total) => {
        const text = format(range);
        // The parser keeps at most 15 digits (beyond that a number may not be exact); such headers are ignored.
        if (/\d{16}/.test(text)) {
          expect(parseRangeHeader(text)).toBeUndefined();
          return;
        }
        expect(parseRangeHeader(text)).toEqual(range);
        const resolved = expectTypedFailure(() => resolveRange(range, total));
        if (resolved instanceof Error) {
          expect(resolved).toBeInstanceOf(RangeNotSatisfiableError);
          expect('suffix' in range ? total === 0 : range.start >= total).toBe(true);
          return;
        }
        const r = resolved as ReturnType<typeof resolveRange>;
        if ('suffix' in range) expect([r.start, r.end]).toEqual([Math.max(0, total - range.suffix), total - 1]);
        else expect([r.start, r.end]).toEqual([range.start, Math.min(range.end ?? total - 1, total - 1)]);
        const match = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(contentRangeHeader(r));
        expect(match && [Number(match[1]), Number(match[2]), Number(match[3])]).toEqual([r.start, r.end, r.total]);
      }),
      RUNS,
    );
  });
});
