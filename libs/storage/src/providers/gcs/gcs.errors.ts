import {
  AccessDeniedError,
  AlreadyExistsError,
  CorruptionError,
  InvalidArgumentError,
  ObjectNotFoundError,
  ProviderUnavailableError,
  RangeNotSatisfiableError,
  StorageError,
  TimeoutError,
  UnauthenticatedError,
  isNetworkErrorCode,
} from '../../errors/index.js';

interface SdkError {
  code?: unknown;
  status?: unknown;
  response?: { status?: unknown };
  message?: string;
  cause?: unknown;
  type?: string;
}

/** The HTTP status of an SDK error: ApiError (`code`), GaxiosError (`status`/`response.status`). */
export function httpStatusOf(error: unknown): number | undefined {
  const e = error as SdkError | undefined;
  if (!e || typeof e !== 'object') return undefined;
  for (const candidate of [e.code, e.status, e.response?.status]) {
    if (typeof candidate === 'number' && candidate >= 100 && candidate < 600) return candidate;
  }
  return undefined;
}

function networkCodeOf(error: unknown, depth = 0): string | undefined {
  const e = error as SdkError | undefined;
  if (!e || typeof e !== 'object' || depth > 3) return undefined;
  if (isNetworkErrorCode(e.code)) return e.code;
  if (e.type === 'system' || e.message === 'socket hang up') return 'ECONNRESET';
  return networkCodeOf(e.cause, depth + 1);
}

/**
 * A connection that died under a request: typically a keep-alive socket the server closed just as
 * it was reused. Safe to send an idempotent request again at once.
 */
export function isConnectionReset(error: unknown): boolean {
  const code = networkCodeOf(error);
  if (code === 'ECONNRESET' || code === 'EPIPE') return true;
  const reasons = ((error as { errors?: { reason?: unknown }[] })?.errors ?? []).map((e) => String(e?.reason ?? '').toLowerCase());
  return reasons.some((reason) => reason === 'econnreset' || reason === 'epipe' || reason === 'unexpected connection closure');
}

export interface GcsErrorContext {
  /** What was being done, for the message: `upload`, `read`, ... */
  operation: string;
  key?: string;
  /** Object size when known (for a 416). */
  size?: number;
}

/** Maps an error of `@google-cloud/storage` to the plugin's typed errors. */
export function toStorageError(error: unknown, context: GcsErrorContext): unknown {
  if (error instanceof StorageError) return error;
  if ((error as Error)?.name === 'AbortError') return error;
  const what = context.key === undefined ? context.operation : `${context.operation} ${context.key}`;
  const detail = (error as Error)?.message ?? String(error);
  const options = { cause: error, details: { provider: 'gcs', operation: context.operation } };
  const status = httpStatusOf(error);
  switch (status) {
    case undefined:
      break;
    case 400:
      return new InvalidArgumentError(`Cloud Storage refused ${what}: ${detail}`, options);
    case 401:
      return new UnauthenticatedError(`Cloud Storage did not accept the credentials (${what}): ${detail}`, options);
    case 403:
      return new AccessDeniedError(`Cloud Storage denied ${what}: ${detail}`, options);
    case 404:
      return new ObjectNotFoundError(context.key ?? context.operation, options);
    case 412:
      // 412 answers `ifGenerationMatch: 0` (create-only) when the object exists.
      return new AlreadyExistsError(`Object already exists: ${context.key ?? ''}`, options);
    case 416:
      return new RangeNotSatisfiableError(context.size ?? 0, options);
    case 408:
      return new TimeoutError(`Cloud Storage timed out (${what}): ${detail}`, options);
    case 429:
      return new ProviderUnavailableError(`Cloud Storage is rate limiting (${what}): ${detail}`, options);
    default:
      if (status >= 500) return new ProviderUnavailableError(`Cloud Storage failed (${what}, ${status}): ${detail}`, options);
      return new StorageError(`Cloud Storage answered ${status} (${what}): ${detail}`, options);
  }
  const network = networkCodeOf(error);
  if (network === 'ETIMEDOUT') return new TimeoutError(`Cloud Storage did not answer in time (${what})`, options);
  if (network) return new ProviderUnavailableError(`Cloud Storage is unreachable (${what}): ${network}`, options);
  // The SDK's own CRC32C check of an upload failed; it has deleted what was stored.
  const code = (error as { code?: unknown })?.code;
  if (code === 'FILE_NO_UPLOAD' || code === 'FILE_NO_UPLOAD_DELETE') {
    return new CorruptionError(`Cloud Storage stored other bytes than were sent (${what}): ${detail}`, options);
  }
  if (/could not load the default credentials|invalid_grant|unable to detect a project id/i.test(detail)) {
    return new UnauthenticatedError(`Cloud Storage credentials are missing or invalid (${what}): ${detail}`, options);
  }
  return error;
}
