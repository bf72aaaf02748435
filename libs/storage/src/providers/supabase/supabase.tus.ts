import type { Readable } from 'node:stream';
import { Upload, type DetailedError, type UploadOptions } from 'tus-js-client';
import { parseFailureBody, type SupabaseFailure } from './supabase.errors.js';

export interface ResumableUploadInput {
  /** `<storage>/upload/resumable` */
  endpoint: string;
  headers: Record<string, string>;
  /** A Buffer is sent as is; a stream is read one chunk at a time. */
  source: Buffer | Readable;
  /** Total bytes when known; otherwise the length is declared with the last chunk. */
  length?: number;
  chunkSize: number;
  metadata: Record<string, string>;
  signal?: AbortSignal;
  /** True once the source stream has failed: nothing a retry could fix. */
  sourceFailed?: () => boolean;
}

/** A TUS request the server refused, with what it answered. */
export class ResumableUploadError extends Error {
  constructor(
    message: string,
    /** The server's answer, when there was one. */
    readonly failure: SupabaseFailure | undefined,
    /** A request got no answer (as opposed to a check of the client itself failing). */
    readonly requestFailed: boolean,
    override readonly cause: unknown,
  ) {
    super(message);
  }
}

function failureOf(error: DetailedError): SupabaseFailure | undefined {
  const response = error.originalResponse;
  if (!response) return undefined;
  // TUS answers carry real statuses and a text body; the auth layer in front answers like the REST API.
  return parseFailureBody(response.getStatus(), response.getBody() ?? '');
}

/**
 * Uploads through TUS 1.0 (`/upload/resumable`) with tus-js-client, holding at most one chunk
 * in memory. The object appears only when the last chunk lands; on failure or abort the
 * unfinished upload is terminated on the server, so nothing is left behind. Resolves to the
 * number of bytes the server accepted.
 */
export function resumableUpload(input: ResumableUploadInput): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let accepted = 0;
    let settled = false;
    const finish = (error?: unknown) => {
      if (settled) return;
      settled = true;
      input.signal?.removeEventListener('abort', onAbort);
      if (error === undefined) resolve(accepted);
      else reject(error);
    };
    const options: UploadOptions = {
      endpoint: input.endpoint,
      headers: input.headers,
      chunkSize: input.chunkSize,
      metadata: input.metadata,
      // Transient failures are retried from the offset the server reports (within the chunk still held).
      retryDelays: [0, 1000, 3000],
      onShouldRetry: (error) => {
        if (input.sourceFailed?.()) return false;
        const response = error.originalResponse;
        const status = response?.getStatus() ?? 0;
        // 409 usually means an offset conflict (worth a retry), but "already exists" is a create-only refusal.
        if (status === 409 && /already exists/i.test(response?.getBody() ?? '')) return false;
        return status === 0 || status >= 500 || status === 409 || status === 423;
      },
      storeFingerprintForResuming: false,
      removeFingerprintOnSuccess: true,
      ...(input.length === undefined ? { uploadLengthDeferred: true } : { uploadSize: input.length }),
      onChunkComplete: (_size, bytesAccepted) => {
        accepted = bytesAccepted;
      },
      onSuccess: () => finish(),
      onError: (error) => {
        const detailed = error as Partial<DetailedError>;
        const failure = detailed.originalResponse ? failureOf(error as DetailedError) : undefined;
        const requestFailed = !failure && Boolean(detailed.originalRequest);
        // Remove what the server holds of the unfinished upload (it never became an object).
        void upload.abort(true).catch(() => undefined);
        if (isStream(input.source)) input.source.destroy();
        finish(new ResumableUploadError(error.message, failure, requestFailed, error));
      },
    };
    const upload = new Upload(input.source, options);
    const onAbort = () => {
      if (isStream(input.source)) input.source.destroy();
      void upload.abort(true).catch(() => undefined);
      finish(input.signal!.reason ?? new Error('upload aborted'));
    };
    if (input.signal?.aborted) return onAbort();
    input.signal?.addEventListener('abort', onAbort, { once: true });
    upload.start();
  });
}

function isStream(source: Buffer | Readable): source is Readable {
  return !Buffer.isBuffer(source);
}
