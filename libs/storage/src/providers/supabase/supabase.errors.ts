import {
  AccessDeniedError,
  AlreadyExistsError,
  ConfigurationError,
  ContentTypeNotAllowedError,
  InvalidArgumentError,
  InvalidKeyError,
  InvalidSignatureError,
  ObjectNotFoundError,
  PayloadTooLargeError,
  ProviderUnavailableError,
  RangeNotSatisfiableError,
  SignedUrlExpiredError,
  StorageError,
  UnauthenticatedError,
} from '../../errors/index.js';

/** What a failed Storage API call told us. */
export interface SupabaseFailure {
  /** HTTP status of the answer (400 for most errors, 500 for internal ones). */
  httpStatus?: number;
  /** The real status, which the API sends as a string in the body (`"404"`, `"409"`). */
  statusCode?: string;
  /** Error code in the body (`KeyAlreadyExists`, `InvalidJWT`, `AccessDenied`), when present. */
  code?: string;
  message: string;
}

export interface FailureContext {
  /** What was being done, for the message (`upload`, `head`). */
  operation: string;
  key?: string;
  bucket: string;
  /** The bucket's size limit when known, for PayloadTooLargeError. */
  sizeLimit?: number;
}

/** Reads an API error body (`{statusCode, error, message, code}`), tolerating any other shape. */
export function parseFailureBody(httpStatus: number, text: string): SupabaseFailure {
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    return {
      httpStatus,
      statusCode: body.statusCode === undefined ? undefined : String(body.statusCode),
      code: typeof body.code === 'string' ? body.code : undefined,
      message: typeof body.message === 'string' ? body.message : text,
    };
  } catch {
    return { httpStatus, message: text || `HTTP ${httpStatus}` };
  }
}

/** The failure carried by a storage-js error (`StorageApiError` has `status` and `statusCode`). */
export function failureOfClientError(error: unknown): SupabaseFailure | undefined {
  const e = error as { __isStorageError?: boolean; status?: number; statusCode?: string; message?: string; originalError?: unknown };
  if (!e || typeof e !== 'object' || !e.__isStorageError) return undefined;
  if (e.status === undefined) return undefined; // StorageUnknownError: the request itself failed
  return { httpStatus: e.status, statusCode: e.statusCode, message: e.message ?? 'Storage API error' };
}

/**
 * Maps an answer of the Storage API to the plugin's typed errors. The API answers most errors
 * with HTTP 400 and the real status as a string in the body, so the body decides; answers with
 * another HTTP status (500, the TUS endpoint's 409/413) are read as they are.
 */
export function mapFailure(failure: SupabaseFailure, context: FailureContext): StorageError {
  const status = failure.httpStatus !== undefined && failure.httpStatus !== 400 ? String(failure.httpStatus) : (failure.statusCode ?? '400');
  const what = context.key === undefined ? context.operation : `${context.operation} ${JSON.stringify(context.key)}`;
  const message = `Supabase Storage refused ${what}: ${failure.message}`;
  const details = { bucket: context.bucket, statusCode: failure.statusCode ?? status, ...(failure.code ? { supabaseCode: failure.code } : {}) };
  const options = { details };
  switch (status) {
    case '404':
      if (failure.code === 'NoSuchBucket' || /bucket not found/i.test(failure.message)) {
        return new ConfigurationError(`Supabase bucket "${context.bucket}" does not exist (${what})`, [], options);
      }
      return new ObjectNotFoundError(context.key ?? context.operation, options);
    case '409':
      return new AlreadyExistsError(message, options);
    case '401':
      return new UnauthenticatedError(message, options);
    case '403':
      if (/row-level security/i.test(failure.message)) return new AccessDeniedError(message, options);
      // A key the project does not accept (bad signature, expired, malformed).
      return new UnauthenticatedError(`Supabase rejected the API key (${what}): ${failure.message}`, options);
    case '413':
      return new PayloadTooLargeError(context.sizeLimit ?? Number.NaN, { details: { ...details, reason: failure.message } });
    case '415':
    case '422':
      return new ContentTypeNotAllowedError(message, options);
    case '416':
      return new RangeNotSatisfiableError(Number.NaN, options);
    case '423':
    case '429':
    case '500':
    case '502':
    case '503':
    case '504':
    case '544':
      return new ProviderUnavailableError(message, options);
    case '400':
      if (/headers must have required property 'authorization'/.test(failure.message)) return new UnauthenticatedError(message, options);
      if (failure.code === 'InvalidKey' || /^Invalid key/.test(failure.message)) return new InvalidKeyError(message, options);
      if (failure.code === 'ExpiredToken' || /expired/i.test(failure.message)) return new SignedUrlExpiredError(message, options);
      if (failure.code === 'InvalidJWT' || failure.code === 'InvalidSignature') return new InvalidSignatureError(message, options);
      if (failure.code === 'InvalidRange') return new RangeNotSatisfiableError(Number.NaN, options);
      return new InvalidArgumentError(message, options);
    default:
      return Number(status) >= 500 ? new ProviderUnavailableError(message, options) : new StorageError(message, options);
  }
}

/** A request that got no answer (refused connection, DNS, reset): the service is unavailable. */
export function unreachable(error: unknown, context: FailureContext): ProviderUnavailableError {
  // storage-js wraps the fetch error (`originalError`); fetch puts the socket's error in `cause`.
  const root = (error as { originalError?: unknown })?.originalError ?? error;
  const cause = (root as { cause?: { code?: string; message?: string } })?.cause;
  const reason = cause?.code ?? cause?.message ?? (root as Error)?.message ?? String(root);
  return new ProviderUnavailableError(`Supabase Storage is unreachable (${context.operation}): ${reason}`, { cause: error, details: { bucket: context.bucket } });
}
