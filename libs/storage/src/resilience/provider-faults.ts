import { StorageError, isNetworkErrorCode } from '../errors/index.js';
import { CircuitOpenError } from './resilience.errors.js';

function httpStatusOf(error: unknown): number | undefined {
  const e = error as { $metadata?: { httpStatusCode?: number }; statusCode?: number; status?: number; code?: unknown };
  return e?.$metadata?.httpStatusCode ?? e?.statusCode ?? (typeof e?.code === 'number' ? e.code : undefined);
}

/** Worth another attempt: transient storage errors, network errors and 5xx/429 from an SDK. */
export function isTransientFault(error: unknown): boolean {
  if (error instanceof CircuitOpenError) return false;
  if (error instanceof StorageError) return error.transient;
  const code = (error as { code?: unknown })?.code;
  if (isNetworkErrorCode(code)) return true;
  const status = httpStatusOf(error);
  return status === 429 || (status !== undefined && status >= 500);
}

/**
 * Counts against the provider's health (the breaker) and sends a write to a fallback. The
 * caller's mistakes (a missing key, a refused body, a bad range) never do; a full backend does,
 * because the next provider may have room.
 */
export function isProviderFault(error: unknown): boolean {
  if (error instanceof CircuitOpenError) return false;
  if (error instanceof StorageError) return error.transient || error.code === 'E_INSUFFICIENT_STORAGE';
  if ((error as { name?: string })?.name === 'AbortError') return false;
  // Unclassified SDK or OS errors are the backend's, unless an HTTP status below 500 says otherwise.
  return isTransientFault(error) || httpStatusOf(error) === undefined;
}
