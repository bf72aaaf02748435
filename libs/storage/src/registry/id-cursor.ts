import { InvalidArgumentError } from '../errors/index.js';
import { isIdentifier } from '../keys/index.js';

/** A page cursor: the last id of the previous page, base64url-encoded. */
export function encodeIdCursor(id: string): string {
  return Buffer.from(id).toString('base64url');
}

/**
 * The id a cursor names. Anything that is not a cursor this module handed out is a client error,
 * checked before it reaches a query (a decoded NUL byte would fail one on PostgreSQL).
 */
export function decodeIdCursor(cursor: string): string {
  const id = /^[A-Za-z0-9_-]{1,64}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  // Identifier-shaped, not only id-long: rows stored before ids were held to 36 characters page too.
  if (!isIdentifier(id) || encodeIdCursor(id) !== cursor) throw new InvalidArgumentError('Invalid cursor');
  return id;
}
