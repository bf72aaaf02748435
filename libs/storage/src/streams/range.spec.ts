import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, RangeNotSatisfiableError } from '../errors/index.js';
import { contentRangeHeader, parseRangeHeader, resolveRange } from './range.js';

describe('parseRangeHeader', () => {
  it.each([
    ['bytes=0-0', { start: 0, end: 0 }],
    ['bytes=2-5', { start: 2, end: 5 }],
    ['bytes=7-', { start: 7 }],
    ['bytes=-3', { suffix: 3 }],
    [' bytes=1-2 ', { start: 1, end: 2 }],
  ])('parses %j', (header, range) => expect(parseRangeHeader(header)).toEqual(range));

  it.each([undefined, '', 'bytes=', 'bytes=-', 'bytes=5-2', 'bytes=0-1,3-4', 'items=0-1', 'bytes=a-b', 'bytes=1-2-3', `bytes=${'9'.repeat(20)}-`])(
    'ignores %j (serve the whole object)',
    (header) => expect(parseRangeHeader(header)).toBeUndefined(),
  );
});

describe('resolveRange', () => {
  it('resolves against the size, clamping the end', () => {
    expect(resolveRange({ start: 0, end: 0 }, 10)).toEqual({ start: 0, end: 0, total: 10 });
    expect(resolveRange({ start: 2, end: 100 }, 10)).toEqual({ start: 2, end: 9, total: 10 });
    expect(resolveRange({ start: 7 }, 10)).toEqual({ start: 7, end: 9, total: 10 });
    expect(resolveRange({ suffix: 3 }, 10)).toEqual({ start: 7, end: 9, total: 10 });
    expect(resolveRange({ suffix: 30 }, 10)).toEqual({ start: 0, end: 9, total: 10 });
  });

  it('throws RangeNotSatisfiableError when no byte is selected', () => {
    expect(() => resolveRange({ start: 10 }, 10)).toThrowError(RangeNotSatisfiableError);
    expect(() => resolveRange({ suffix: 0 }, 10)).toThrowError(RangeNotSatisfiableError);
    expect(() => resolveRange({ start: 0 }, 0)).toThrowError(RangeNotSatisfiableError);
  });

  it('throws InvalidArgumentError for malformed ranges', () => {
    expect(() => resolveRange({ start: -1 }, 10)).toThrowError(InvalidArgumentError);
    expect(() => resolveRange({ start: 5, end: 2 }, 10)).toThrowError(InvalidArgumentError);
    expect(() => resolveRange({ start: 1.5 }, 10)).toThrowError(InvalidArgumentError);
  });

  it('formats Content-Range', () => expect(contentRangeHeader({ start: 2, end: 4, total: 10 })).toBe('bytes 2-4/10'));
});
