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
      ...(isStream(input.source) ? { fileReader: { openFile: async () => new StreamSlices(input.source as Readable) } } : {}),
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

/**
 * A stream as tus-js-client reads it: slices in order, the last one marked `done`. Replaces the
 * client's own stream source, which waits forever for a next chunk when a stream of unknown
 * length ends exactly on a chunk boundary (it learns of the end only from the 'end' event, which
 * comes after a read it never makes). This one reads one source chunk past a slice before
 * answering, so it always knows whether the slice is the last. A slice may be asked again from
 * any offset within the last one (a retry resumes from the offset the server reports).
 */
class StreamSlices {
  /** Unknown: the length is sent with the last slice. */
  readonly size = null as unknown as number;
  private readonly chunks: AsyncIterator<Buffer>;
  /** The last slice given, starting at `position`; then the bytes read past it. */
  private last: Buffer = Buffer.alloc(0);
  private position = 0;
  private ahead: Buffer[] = [];
  private ended = false;

  constructor(stream: Readable) {
    this.chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  async slice(start: number, end: number): Promise<{ value: Buffer & { size?: number }; done: boolean }> {
    if (start < this.position || start > this.position + this.last.length) {
      throw new Error(`cannot read from ${start}: the stream is at ${this.position}`);
    }
    const wanted = end - start;
    const parts = [this.last.subarray(start - this.position), ...this.ahead];
    let available = parts.reduce((sum, part) => sum + part.length, 0);
    // One byte more than wanted, or the end: only then is it known whether this slice is the last.
    while (!this.ended && available <= wanted) {
      const next = await this.chunks.next();
      if (next.done) this.ended = true;
      else {
        parts.push(next.value);
        available += next.value.length;
      }
    }
    const all = parts.length === 1 ? parts[0] : Buffer.concat(parts, available);
    const value: Buffer & { size?: number } = all.subarray(0, Math.min(wanted, all.length));
    value.size = value.length;
    this.last = value;
    this.position = start;
    this.ahead = available > value.length ? [all.subarray(value.length)] : [];
    return { value, done: this.ended && this.ahead.length === 0 };
  }

  close(): void {}
}
