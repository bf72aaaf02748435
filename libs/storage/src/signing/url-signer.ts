import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConfigurationError, InvalidSignatureError, SignedUrlExpiredError } from '../errors/index.js';

export type SignedMethod = 'GET' | 'PUT';

export interface SignedClaims {
  method: SignedMethod;
  provider: string;
  key: string;
  /** Unix seconds. */
  expires: number;
  /** Uploads: the only content type accepted. */
  contentType?: string;
  /** Uploads: the largest body accepted. */
  maxSize?: number;
  /** Downloads: served as an attachment with this name. */
  filename?: string;
}

/** Query parameter names of a signed URL. */
export const SIGNED_QUERY = {
  expires: 'X-Boards-Expires',
  keyId: 'X-Boards-Key-Id',
  signature: 'X-Boards-Signature',
  contentType: 'X-Boards-Content-Type',
  maxSize: 'X-Boards-Max-Size',
  filename: 'X-Boards-Filename',
} as const;

export interface SigningKeys {
  /** Key id -> secret (at least 32 bytes of entropy recommended). */
  keys: Record<string, string>;
  /** The key id new URLs are signed with; the others still verify (rotation grace period). */
  activeKeyId: string;
}

function canonical(claims: SignedClaims, keyId: string): string {
  return [
    'boards-storage-v1',
    keyId,
    claims.method,
    claims.provider,
    claims.key,
    String(claims.expires),
    claims.contentType ?? '',
    claims.maxSize === undefined ? '' : String(claims.maxSize),
    claims.filename ?? '',
  ].join('\n');
}

/**
 * Signs and verifies URLs served by this process (local and memory providers): HMAC-SHA256
 * bound to method, provider, key, expiry and, for uploads, content type and size limit;
 * compared in constant time; key ids let secrets rotate.
 */
export class UrlSigner {
  private readonly keys: Map<string, Buffer>;
  readonly activeKeyId: string;

  constructor(keys: SigningKeys) {
    this.keys = new Map(Object.entries(keys.keys).map(([id, secret]) => [id, Buffer.from(secret, 'utf8')]));
    if (!this.keys.has(keys.activeKeyId)) {
      throw new ConfigurationError(`Signing key id "${keys.activeKeyId}" has no secret`);
    }
    this.activeKeyId = keys.activeKeyId;
  }

  /** A signer with a random secret: URLs verify only in this process (development). */
  static ephemeral(): UrlSigner {
    return new UrlSigner({ keys: { ephemeral: randomBytes(32).toString('base64url') }, activeKeyId: 'ephemeral' });
  }

  private mac(keyId: string, claims: SignedClaims): Buffer {
    const secret = this.keys.get(keyId);
    if (!secret) throw new InvalidSignatureError('Signed URL names an unknown signing key');
    return createHmac('sha256', secret).update(canonical(claims, keyId)).digest();
  }

  /** The query string parameters that make a URL carry these claims. */
  sign(claims: SignedClaims): URLSearchParams {
    const query = new URLSearchParams();
    query.set(SIGNED_QUERY.expires, String(claims.expires));
    if (claims.contentType !== undefined) query.set(SIGNED_QUERY.contentType, claims.contentType);
    if (claims.maxSize !== undefined) query.set(SIGNED_QUERY.maxSize, String(claims.maxSize));
    if (claims.filename !== undefined) query.set(SIGNED_QUERY.filename, claims.filename);
    query.set(SIGNED_QUERY.keyId, this.activeKeyId);
    query.set(SIGNED_QUERY.signature, this.mac(this.activeKeyId, claims).toString('base64url'));
    return query;
  }

  /**
   * Checks a request against its signed query. Throws InvalidSignatureError for any change
   * to method, provider, key or claims, SignedUrlExpiredError once expired.
   */
  verify(
    request: { method: string; provider: string; key: string; query: Record<string, unknown> },
    now: number = Date.now(),
  ): SignedClaims {
    const text = (name: string): string | undefined => {
      const value = request.query[name];
      if (value === undefined) return undefined;
      if (typeof value !== 'string') throw new InvalidSignatureError('Signed URL has a repeated parameter');
      return value;
    };
    const signature = text(SIGNED_QUERY.signature);
    const keyId = text(SIGNED_QUERY.keyId);
    const expiresText = text(SIGNED_QUERY.expires);
    // One spelling per URL: numbers without leading zeros, the signature in canonical base64url.
    if (!signature || !keyId || !expiresText || !/^(0|[1-9]\d{0,11})$/.test(expiresText)) {
      throw new InvalidSignatureError('URL is not signed');
    }
    const maxSizeText = text(SIGNED_QUERY.maxSize);
    if (maxSizeText !== undefined && !/^(0|[1-9]\d{0,15})$/.test(maxSizeText)) throw new InvalidSignatureError('Malformed signed URL');
    const method = request.method.toUpperCase() === 'HEAD' ? 'GET' : request.method.toUpperCase();
    const claims: SignedClaims = {
      method: method as SignedMethod,
      provider: request.provider,
      key: request.key,
      expires: Number(expiresText),
      contentType: text(SIGNED_QUERY.contentType),
      maxSize: maxSizeText === undefined ? undefined : Number(maxSizeText),
      filename: text(SIGNED_QUERY.filename),
    };
    const expected = this.mac(keyId, claims);
    const given = Buffer.from(signature, 'base64url');
    if (given.length !== expected.length || given.toString('base64url') !== signature || !timingSafeEqual(given, expected)) {
      throw new InvalidSignatureError('Signature does not match this request');
    }
    // Expiry is checked after the signature, so an attacker learns nothing from the answer.
    if (claims.expires * 1000 <= now) throw new SignedUrlExpiredError('Signed URL has expired');
    return claims;
  }
}
