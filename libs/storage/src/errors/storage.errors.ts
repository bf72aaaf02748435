/**
 * Every failure the plugin reports is a StorageError with a stable `code`.
 * HTTP statuses are attached here, once, and mapped by StorageExceptionFilter.
 */
export type StorageErrorCode =
  | 'E_INVALID_KEY'
  | 'E_INVALID_ARGUMENT'
  | 'E_NOT_FOUND'
  | 'E_ALREADY_EXISTS'
  | 'E_TOO_LARGE'
  | 'E_CONTENT_TYPE_NOT_ALLOWED'
  | 'E_CONTENT_MISMATCH'
  | 'E_CONTENT_REJECTED'
  | 'E_INCOMPLETE_BODY'
  | 'E_CHECKSUM_MISMATCH'
  | 'E_RANGE_NOT_SATISFIABLE'
  | 'E_INVALID_SIGNATURE'
  | 'E_URL_EXPIRED'
  | 'E_UNAUTHENTICATED'
  | 'E_ACCESS_DENIED'
  | 'E_RATE_LIMITED'
  | 'E_PROVIDER_UNAVAILABLE'
  | 'E_INSUFFICIENT_STORAGE'
  | 'E_CORRUPTION'
  | 'E_KEY_UNAVAILABLE'
  | 'E_CONFIGURATION'
  | 'E_UNSUPPORTED'
  | 'E_TIMEOUT'
  | 'E_STORAGE';

export interface StorageErrorOptions {
  cause?: unknown;
  /** Extra, non-secret facts for logs and API clients. */
  details?: Record<string, unknown>;
}

export class StorageError extends Error {
  readonly code: StorageErrorCode = 'E_STORAGE';
  readonly status: number = 500;
  readonly details?: Record<string, unknown>;

  constructor(message: string, options: StorageErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.details = options.details;
  }

  /** Errors worth retrying: the operation may succeed if tried again. */
  get transient(): boolean {
    return false;
  }
}

export class InvalidKeyError extends StorageError {
  override readonly code = 'E_INVALID_KEY';
  override readonly status = 400;
}

export class InvalidArgumentError extends StorageError {
  override readonly code = 'E_INVALID_ARGUMENT';
  override readonly status = 400;
}

export class ObjectNotFoundError extends StorageError {
  override readonly code = 'E_NOT_FOUND';
  override readonly status = 404;
  constructor(what: string, options?: StorageErrorOptions) {
    super(`Not found: ${what}`, options);
  }
}

export class AlreadyExistsError extends StorageError {
  override readonly code = 'E_ALREADY_EXISTS';
  override readonly status = 409;
}

export class PayloadTooLargeError extends StorageError {
  override readonly code = 'E_TOO_LARGE';
  override readonly status = 413;
  constructor(readonly limit: number, options?: StorageErrorOptions) {
    super(`Body exceeds the limit of ${limit} bytes`, {
      ...options,
      details: { limit, ...options?.details },
    });
  }
}

export class ContentTypeNotAllowedError extends StorageError {
  override readonly code = 'E_CONTENT_TYPE_NOT_ALLOWED';
  override readonly status = 415;
}

/** The bytes do not match what the client declared (sniffed type, text encoding, JSON, model header). */
export class ContentMismatchError extends StorageError {
  override readonly code = 'E_CONTENT_MISMATCH';
  override readonly status = 415;
}

/**
 * A content scanner refused the bytes (malware, policy): the type was fine, the content is not
 * acceptable. 422, so clients can tell it from a declared-type mismatch (415).
 */
export class ContentRejectedError extends StorageError {
  override readonly code = 'E_CONTENT_REJECTED';
  override readonly status = 422;
}

/** The body ended before its declared length, or carried more than it declared. */
export class IncompleteBodyError extends StorageError {
  override readonly code = 'E_INCOMPLETE_BODY';
  override readonly status = 400;
}

export class ChecksumMismatchError extends StorageError {
  override readonly code = 'E_CHECKSUM_MISMATCH';
  override readonly status = 400;
}

export class RangeNotSatisfiableError extends StorageError {
  override readonly code = 'E_RANGE_NOT_SATISFIABLE';
  override readonly status = 416;
  constructor(readonly size: number, options?: StorageErrorOptions) {
    super(`Range not satisfiable for an object of ${size} bytes`, {
      ...options,
      details: { size, ...options?.details },
    });
  }
}

export class InvalidSignatureError extends StorageError {
  override readonly code = 'E_INVALID_SIGNATURE';
  override readonly status = 403;
}

export class SignedUrlExpiredError extends StorageError {
  override readonly code = 'E_URL_EXPIRED';
  override readonly status = 403;
}

export class UnauthenticatedError extends StorageError {
  override readonly code = 'E_UNAUTHENTICATED';
  override readonly status = 401;
}

export class AccessDeniedError extends StorageError {
  override readonly code = 'E_ACCESS_DENIED';
  override readonly status = 403;
}

/** Too many requests from one client in the configured window (rate limiting). */
export class RateLimitedError extends StorageError {
  override readonly code = 'E_RATE_LIMITED';
  override readonly status = 429;
  constructor(
    message: string,
    /** Seconds until the client may try again. */
    readonly retryAfterSeconds?: number,
    options?: StorageErrorOptions,
  ) {
    super(message, { ...options, details: { ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }), ...options?.details } });
  }
}

export class ProviderUnavailableError extends StorageError {
  override readonly code = 'E_PROVIDER_UNAVAILABLE';
  override readonly status = 503;
  override get transient(): boolean {
    return true;
  }
}

export class TimeoutError extends StorageError {
  override readonly code = 'E_TIMEOUT';
  override readonly status = 504;
  override get transient(): boolean {
    return true;
  }
}

export class InsufficientStorageError extends StorageError {
  override readonly code = 'E_INSUFFICIENT_STORAGE';
  override readonly status = 507;
}

/** Stored bytes do not match their record (size or sha256): never served silently. */
export class CorruptionError extends StorageError {
  override readonly code = 'E_CORRUPTION';
  override readonly status = 500;
}

/** An encrypted object names a master key that is not configured (or is configured with other bytes). */
export class EncryptionKeyUnavailableError extends StorageError {
  override readonly code = 'E_KEY_UNAVAILABLE';
  override readonly status = 500;
}

export class ConfigurationError extends StorageError {
  override readonly code = 'E_CONFIGURATION';
  override readonly status = 500;
  constructor(
    message: string,
    readonly problems: string[] = [],
    options?: StorageErrorOptions,
  ) {
    super(problems.length ? `${message}\n  - ${problems.join('\n  - ')}` : message, options);
  }
}

export class UnsupportedOperationError extends StorageError {
  override readonly code = 'E_UNSUPPORTED';
  override readonly status = 501;
}

export function isStorageError(error: unknown): error is StorageError {
  return error instanceof StorageError;
}
