import {
  AccessDeniedError,
  AlreadyExistsError,
  InsufficientStorageError,
  InvalidArgumentError,
  ObjectNotFoundError,
  PayloadTooLargeError,
  ProviderUnavailableError,
  RangeNotSatisfiableError,
  StorageError,
  TimeoutError,
  UnauthenticatedError,
  isNetworkErrorCode,
} from '../../errors/index.js';

/** S3 error names for a missing object or bucket (HEAD answers carry no body: `NotFound`). */
const NOT_FOUND = new Set(['NoSuchKey', 'NotFound', 'NoSuchVersion']);
const CREDENTIALS = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken', 'TokenRefreshRequired', 'CredentialsProviderError']);
const THROTTLED = new Set(['SlowDown', 'RequestTimeout', 'ServiceUnavailable', 'InternalError', 'RequestTimeTooSkewed', 'Throttling', 'ThrottlingException']);

interface SdkError {
  name?: string;
  code?: unknown;
  message?: string;
  cause?: unknown;
  $metadata?: { httpStatusCode?: number };
  $fault?: 'client' | 'server';
}

export function s3StatusOf(error: unknown): number | undefined {
  return (error as SdkError | undefined)?.$metadata?.httpStatusCode;
}

function networkCodeOf(error: unknown, depth = 0): string | undefined {
  const e = error as SdkError | undefined;
  if (!e || typeof e !== 'object' || depth > 3) return undefined;
  if (isNetworkErrorCode(e.code)) return e.code;
  if (e.message === 'socket hang up') return 'ECONNRESET';
  return networkCodeOf(e.cause, depth + 1);
}

export interface S3ErrorContext {
  /** What was being done, for the message: `upload`, `read`, ... */
  operation: string;
  bucket: string;
  key?: string;
  /** Object size when known (for a 416). */
  size?: number;
}

/**
 * Maps an error of the AWS SDK (or of the network under it) to the plugin's typed errors.
 * StorageErrors and aborts pass through unchanged.
 */
export function toStorageError(error: unknown, context: S3ErrorContext): unknown {
  if (error instanceof StorageError) return error;
  const e = (error ?? {}) as SdkError;
  if (e.name === 'AbortError') return error;
  const what = context.key === undefined ? `${context.operation} (bucket ${context.bucket})` : `${context.operation} ${context.key}`;
  const detail = `${e.name ?? 'Error'}: ${e.message ?? String(error)}`;
  const options = { cause: error, details: { provider: 's3', operation: context.operation, s3Error: e.name } };
  const status = s3StatusOf(error);
  const name = e.name ?? '';

  if (name === 'NoSuchBucket') {
    return new ProviderUnavailableError(`S3 bucket "${context.bucket}" does not exist (${what})`, options);
  }
  if (NOT_FOUND.has(name) || status === 404) return new ObjectNotFoundError(context.key ?? context.operation, options);
  // 412 answers If-None-Match: * (the key exists); 409 a concurrent conditional write that lost.
  if (name === 'PreconditionFailed' || status === 412 || name === 'ConditionalRequestConflict') {
    return new AlreadyExistsError(`Object already exists: ${context.key ?? ''}`, options);
  }
  if (name === 'InvalidRange' || status === 416) return new RangeNotSatisfiableError(context.size ?? 0, options);
  if (CREDENTIALS.has(name)) return new UnauthenticatedError(`S3 did not accept the credentials (${what}): ${detail}`, options);
  if (name === 'AccessDenied' || name === 'AllAccessDisabled' || status === 403) {
    return new AccessDeniedError(`S3 denied ${what}: ${detail}`, options);
  }
  if (name === 'EntityTooLarge') return new PayloadTooLargeError(5 * 1024 ** 3, options);
  if (name === 'QuotaExceeded' || status === 507) return new InsufficientStorageError(`S3 store is full (${what}): ${detail}`, options);
  if (name === 'TimeoutError' || name === 'RequestTimeout') return new TimeoutError(`S3 timed out (${what}): ${detail}`, options);
  if (THROTTLED.has(name) || (status !== undefined && status >= 500) || e.$fault === 'server') {
    return new ProviderUnavailableError(`S3 is unavailable (${what}): ${detail}`, options);
  }
  const network = networkCodeOf(error);
  if (network) return new ProviderUnavailableError(`S3 endpoint unreachable (${what}): ${network}`, options);
  if (status === 400) return new InvalidArgumentError(`S3 refused ${what}: ${detail}`, options);
  return new StorageError(`S3 ${what} failed: ${detail}`, options);
}
