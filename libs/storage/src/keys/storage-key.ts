import { randomUUID } from 'node:crypto';
import { InvalidKeyError } from '../errors/index.js';

/** Longest key in UTF-8 bytes (the S3 and GCS limit). */
export const MAX_KEY_BYTES = 1024;
/** Longest path segment in UTF-8 bytes (most filesystems' name limit). */
export const MAX_SEGMENT_BYTES = 255;

// Characters that render as, or normalise to, a path separator or that hide what a key says.
const CONTROL = /[\p{Cc}]/u;
const BIDI_AND_INVISIBLE = /[\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/u;
const SLASH_LOOKALIKES = /[\u2044\u2215\u29F8\u29F9\uFE68\uFF0F\uFF3C\u2216\u244A]/u;
const LONE_SURROGATE = /\p{Cs}/u;

function reject(key: string, reason: string): never {
  // The key may hold hostile bytes; show it JSON-escaped and bounded.
  const shown = JSON.stringify(key.length > 80 ? `${key.slice(0, 80)}…` : key);
  throw new InvalidKeyError(`Invalid storage key ${shown}: ${reason}`, { details: { reason } });
}

function checkShape(key: string, original: string, via: string): void {
  if (key.includes('\\')) reject(original, `backslash${via}`);
  if (key.startsWith('/')) reject(original, `leading slash${via}`);
  if (key.includes('\0') || CONTROL.test(key)) reject(original, `control character${via}`);
  for (const segment of key.split('/')) {
    if (segment === '..' || segment === '.') reject(original, `"${segment}" segment${via}`);
  }
}

/**
 * Decodes %XX sequences the way a lenient decoder downstream would: each run of escapes as UTF-8,
 * invalid bytes becoming U+FFFD. (Keeping an invalid run undecoded would hide the valid escapes
 * after it: `%e0%80%ae%0a` ends in a newline.) Only used to check a key, never to store one.
 */
function percentDecodeOnce(value: string): string {
  return value.replace(/(?:%[0-9a-fA-F]{2})+/g, (run) => Buffer.from(run.replace(/%/g, ''), 'hex').toString('utf8'));
}

/** A bounded, printable description of any value (some objects cannot even be turned into strings). */
function describeValue(value: unknown): string {
  if (typeof value === 'string') return value;
  return value === null ? 'null' : typeof value;
}

/**
 * Validates a storage key once, above every provider. Accepts awkward but safe keys (spaces,
 * unicode, `+`, `%`, `=`); refuses anything that could climb out of a root or hide its meaning:
 * `..`/`.` segments, a leading `/`, backslashes, empty segments, control and bidi characters,
 * slash look-alikes, percent-encoded (at any depth) or NFKC-normalised forms of any of
 * those, and keys or segments over the length limits.
 */
export function assertValidKey(key: unknown): asserts key is string {
  if (typeof key !== 'string') reject(describeValue(key), 'not a string');
  if (key.length === 0) reject(key, 'empty');
  if (LONE_SURROGATE.test(key)) reject(key, 'lone surrogate (not valid UTF-8)');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) reject(key, `longer than ${MAX_KEY_BYTES} bytes`);
  checkShape(key, key, '');
  if (key.endsWith('/')) reject(key, 'trailing slash');
  for (const segment of key.split('/')) {
    if (segment.length === 0) reject(key, 'empty segment');
    if (Buffer.byteLength(segment, 'utf8') > MAX_SEGMENT_BYTES) {
      reject(key, `segment longer than ${MAX_SEGMENT_BYTES} bytes`);
    }
  }
  if (BIDI_AND_INVISIBLE.test(key)) reject(key, 'invisible or bidirectional control character');
  if (SLASH_LOOKALIKES.test(key)) reject(key, 'slash look-alike character');
  const normalised = key.normalize('NFKC');
  if (normalised !== key) checkShape(normalised, key, ' after NFKC normalisation');
  let decoded = key;
  // Decode until nothing changes (each round shortens the key, so this ends): a component that
  // decodes once more than we did must not find what we refused.
  for (;;) {
    const next = percentDecodeOnce(decoded);
    if (next === decoded) break;
    decoded = next;
    checkShape(decoded, key, ' after percent-decoding');
    checkShape(decoded.normalize('NFKC'), key, ' after percent-decoding and NFKC normalisation');
    if (SLASH_LOOKALIKES.test(decoded)) reject(key, 'encoded slash look-alike character');
  }
}

export function isValidKey(key: unknown): key is string {
  try {
    assertValidKey(key);
    return true;
  } catch {
    return false;
  }
}

/** Validates a key prefix (for listing): like a key, but may be empty or end with `/`. */
export function assertValidPrefix(prefix: string): void {
  if (prefix === '') return;
  assertValidKey(prefix.endsWith('/') ? `${prefix}x` : prefix);
}

const IDENTIFIER = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Identifiers held shorter than 128 characters: as long as their column in the registry. */
const SHORTER_IDENTIFIERS: Record<string, number> = { 'artifact type': 64, 'artifact id': 36 };

/** Whether `value` has the identifier shape (letters, digits, `_`, `-`, `.`; no `..`) and at most `max` characters. */
export function isIdentifier(value: unknown, max = 128): value is string {
  return typeof value === 'string' && value.length <= max && IDENTIFIER.test(value) && !value.includes('..');
}

/**
 * Tenant, board, artifact type and artifact ids become key segments: they are held to a
 * strict identifier shape (letters, digits, `_`, `-`, `.`; no `..`), and to the length the
 * registry stores (128, or less for the artifact type and id). `max` overrides that length
 * where a value is only compared, never stored (a filter).
 */
export function assertIdentifier(value: unknown, what: string, max = SHORTER_IDENTIFIERS[what] ?? 128): asserts value is string {
  if (!isIdentifier(value, max)) {
    const shown = JSON.stringify(describeValue(value).slice(0, 80));
    throw new InvalidKeyError(
      `Invalid ${what} ${shown}: use 1-${max} letters, digits, "_", "-" or "." (starting with a letter or digit)`,
      { details: { field: what } },
    );
  }
}

/** Whether `value` could be an artifact id (a lookup with anything else finds nothing). */
export function isArtifactId(value: unknown): value is string {
  return isIdentifier(value, SHORTER_IDENTIFIERS['artifact id']);
}

export interface ArtifactKeyParts {
  tenant: string;
  artifactType: string;
  artifactId: string;
  boardId?: string | null;
  variant: string;
  /** Defaults to now. */
  now?: Date;
  /** Defaults to 8 random hex characters. */
  unique?: string;
}

function timestamp(now: Date): string {
  return now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/**
 * Builds the design's hierarchical key:
 * `{tenant}/{type}/{board}/{artifact}_{timestamp}_{uuid}/{variant}` (board omitted for global
 * artifacts such as models). Every part is checked; the whole key is validated again.
 */
export function buildArtifactKey(parts: ArtifactKeyParts): string {
  assertIdentifier(parts.tenant, 'tenant');
  assertIdentifier(parts.artifactType, 'artifact type');
  assertIdentifier(parts.artifactId, 'artifact id');
  assertIdentifier(parts.variant, 'variant');
  if (parts.boardId != null) assertIdentifier(parts.boardId, 'board id');
  const unique = parts.unique ?? randomUUID().replace(/-/g, '').slice(0, 8);
  const leaf = `${parts.artifactId}_${timestamp(parts.now ?? new Date())}_${unique}`;
  const segments = [parts.tenant, parts.artifactType];
  if (parts.boardId != null) segments.push(parts.boardId);
  segments.push(leaf, parts.variant);
  const key = segments.join('/');
  assertValidKey(key);
  return key;
}

/** The prefix under which the design keeps temporary artifacts. */
export const TEMP_PREFIX = 'temp/';

/**
 * `temp/{tenant}/{scope}/{artifact}_{timestamp}_{uuid}/{variant}`: temporary generation
 * intermediates (the scope is the board, or the artifact type for global ones).
 */
export function buildTempKey(tenant: string, scope: string, artifactId: string, variant: string, now = new Date()): string {
  assertIdentifier(tenant, 'tenant');
  assertIdentifier(scope, 'temp scope');
  assertIdentifier(artifactId, 'artifact id');
  assertIdentifier(variant, 'variant');
  const unique = randomUUID().replace(/-/g, '').slice(0, 8);
  const key = `${TEMP_PREFIX}${tenant}/${scope}/${artifactId}_${timestamp(now)}_${unique}/${variant}`;
  assertValidKey(key);
  return key;
}

/**
 * The shape of every key StorageService writes: `.../{artifact}_{yyyymmddhhmmss}_{8 hex}/{variant}`.
 * The orphan scan only ever removes keys of this shape, so foreign objects sharing a bucket are safe.
 */
const SERVICE_KEY = /(?:^|\/)[A-Za-z0-9][A-Za-z0-9_.-]*_\d{14}_[0-9a-f]{8}\/[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function isServiceKey(key: string): boolean {
  return SERVICE_KEY.test(key);
}
