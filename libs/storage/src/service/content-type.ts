import { ContentTypeNotAllowedError } from '../errors/index.js';

const TOKEN = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;

export interface ParsedContentType {
  /** `type/subtype`, lower case. */
  essence: string;
  params: Record<string, string>;
}

/** Parses a Content-Type header; throws ContentTypeNotAllowedError for a malformed one. */
export function parseContentType(value: string | undefined): ParsedContentType {
  if (!value || value.length > 512) throw new ContentTypeNotAllowedError('A valid Content-Type is required');
  const [head, ...rest] = value.split(';');
  const essence = head.trim().toLowerCase();
  if (!TOKEN.test(essence)) throw new ContentTypeNotAllowedError(`Malformed content type "${value.slice(0, 80)}"`);
  const params: Record<string, string> = {};
  for (const part of rest) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    params[part.slice(0, eq).trim().toLowerCase()] = part.slice(eq + 1).trim().replace(/^"|"$/g, '');
  }
  return { essence, params };
}

/** `image/png` matches `image/png` and `image/*`. */
export function contentTypeMatches(essence: string, pattern: string): boolean {
  if (pattern.endsWith('/*')) return essence.startsWith(pattern.slice(0, -1));
  return essence === pattern;
}

export function assertContentTypeAllowed(essence: string, allowed: readonly string[]): void {
  if (!allowed.some((pattern) => contentTypeMatches(essence, pattern))) {
    throw new ContentTypeNotAllowedError(`Content type not allowed: ${essence}`, { details: { contentType: essence } });
  }
}
