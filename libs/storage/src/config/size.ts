import bytes from 'bytes';
import { ValidateBy, type ValidationOptions } from 'class-validator';
import type { SizeValue } from './storage-options.js';

/** Parses `100MB`, `1.5GB`, `512KiB` or a number of bytes; undefined when not a size. */
export function parseSize(value: SizeValue | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  const trimmed = value.trim().replace(/iB$/i, 'B');
  if (!/^\d+(\.\d+)?\s*(b|kb|mb|gb|tb|pb)?$/i.test(trimmed)) return undefined;
  const parsed = bytes.parse(trimmed);
  return parsed === null || !Number.isFinite(parsed) ? undefined : Math.floor(parsed);
}

/** class-validator: a size that parseSize accepts. */
export function IsSize(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isSize',
      validator: {
        validate: (value: unknown) =>
          (typeof value === 'number' || typeof value === 'string') && parseSize(value) !== undefined,
        defaultMessage: () => 'must be a size such as 104857600, "100MB" or "2GB"',
      },
    },
    options,
  );
}

/**
 * class-validator: a size (as parseSize reads it) within `min` and `max` bytes. A value that is
 * not a size passes here, so that `@IsSize()` reports it once.
 */
export function SizeBetween(min: number, max: number, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'sizeBetween',
      constraints: [min, max],
      validator: {
        validate: (value: unknown) => {
          const size = typeof value === 'number' || typeof value === 'string' ? parseSize(value) : undefined;
          return size === undefined || (size >= min && size <= max);
        },
        defaultMessage: () => `must be between ${formatSize(min)} and ${formatSize(max)}`,
      },
    },
    options,
  );
}

/** `5242880` as `5MB` (units of 1024, as the config reads them), for messages. */
function formatSize(value: number): string {
  return bytes.format(value, { unitSeparator: '' })!;
}
