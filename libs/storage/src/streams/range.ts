import type { ByteRange, ResolvedRange } from '../contract/index.js';
import { InvalidArgumentError, RangeNotSatisfiableError } from '../errors/index.js';

const SINGLE_RANGE = /^bytes=(\d*)-(\d*)$/;

/**
 * Parses an HTTP `Range` header holding one byte range. Returns undefined for a header that is
 * absent, malformed or asks for several ranges (RFC 9110 lets a server ignore those and send
 * the whole representation).
 */
export function parseRangeHeader(header: string | undefined): ByteRange | undefined {
  if (!header) return undefined;
  const match = SINGLE_RANGE.exec(header.trim());
  if (!match) return undefined;
  const [, first, last] = match;
  if (first === '' && last === '') return undefined;
  if (first.length > 15 || last.length > 15) return undefined; // beyond Number.MAX_SAFE_INTEGER
  if (first === '') return { suffix: Number(last) };
  const start = Number(first);
  if (last === '') return { start };
  const end = Number(last);
  if (end < start) return undefined;
  return { start, end };
}

/** Checks a range's own shape (before the object's size is known). */
export function assertValidRange(range: ByteRange): void {
  const values = 'suffix' in range ? [range.suffix] : [range.start, range.end ?? range.start];
  if (!values.every((v) => Number.isSafeInteger(v) && v >= 0)) {
    throw new InvalidArgumentError('A byte range needs non-negative whole numbers');
  }
  if (!('suffix' in range) && range.end !== undefined && range.end < range.start) {
    throw new InvalidArgumentError('A byte range cannot end before it starts');
  }
}

/**
 * Resolves a range against an object of `size` bytes, clamping the end to the last byte.
 * Throws RangeNotSatisfiableError when no byte of the object is selected.
 */
export function resolveRange(range: ByteRange, size: number): ResolvedRange {
  assertValidRange(range);
  if ('suffix' in range) {
    if (range.suffix === 0 || size === 0) throw new RangeNotSatisfiableError(size);
    return { start: Math.max(0, size - range.suffix), end: size - 1, total: size };
  }
  if (range.start >= size) throw new RangeNotSatisfiableError(size);
  const end = Math.min(range.end ?? size - 1, size - 1);
  return { start: range.start, end, total: size };
}

export function contentRangeHeader(range: ResolvedRange): string {
  return `bytes ${range.start}-${range.end}/${range.total}`;
}
