import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { readAll, type PresignedRequest } from '@app/storage';

export const KiB = 1024;
export const MiB = 1024 * KiB;

export const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

/** Reads a (small) body whole. */
export async function bytesOf(body: Readable): Promise<Buffer> {
  return readAll(body, 64 * MiB);
}

/** Hashes a stream while it flows, keeping no more than one chunk. */
export async function digestStream(body: AsyncIterable<Uint8Array>, onChunk?: () => void): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of body) {
    hash.update(chunk);
    size += chunk.byteLength;
    onChunk?.();
  }
  return { size, sha256: hash.digest('hex') };
}

/**
 * A generated body of `total` bytes in `chunkSize` pieces. Bytes are made as they are read and
 * hashed on the way (`digest()` once drained), so the test itself never holds the body.
 */
export function generatedBody(total: number, chunkSize = 1 * MiB, onChunk?: () => void) {
  const hash = createHash('sha256');
  // One random block, varied per chunk by a counter: cheap, and no two chunks are equal.
  const block = randomBytes(chunkSize);
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let sent = 0, n = 0; sent < total; n++) {
      const size = Math.min(chunkSize, total - sent);
      const chunk = Buffer.allocUnsafe(size);
      block.copy(chunk, 0, 0, size);
      chunk.writeUInt32BE(n, 0);
      hash.update(chunk);
      sent += size;
      onChunk?.();
      yield chunk;
    }
  }
  return { iterable: chunks(), digest: () => hash.digest('hex') };
}

/** An async iterable that yields `before` bytes, then fails like a dropped connection (ECONNRESET). */
export async function* failingBody(before: number, chunkSize = 256 * KiB): AsyncGenerator<Buffer> {
  for (let sent = 0; sent < before; sent += chunkSize) yield randomBytes(Math.min(chunkSize, before - sent));
  throw Object.assign(new Error('simulated client failure mid-body'), { code: 'ECONNRESET' });
}

/** Calls V8's collector; exposed at runtime because the test workers start without --expose-gc. */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/**
 * Peak of the memory this process keeps alive (V8 heap + Buffers), sampled after a full
 * collection so that only retained bytes count, not garbage awaiting collection. RSS is
 * reported too but not asserted: it keeps pages freed by earlier tests.
 *
 * Each sample collects twice. V8 sweeps dead ArrayBuffers concurrently after a full collection
 * and takes them off its external-memory count only once that sweep is done; the next
 * collection waits for it. After one collection `external` still counted up to 15 MiB of
 * Buffers already freed (the S3 upload's part buffers), so a sample could exceed what was alive.
 */
export class RetainedMemoryMeter {
  private readonly gc = collector();
  private baseline = 0;
  private peak = 0;
  private baselineRss = 0;
  private peakRss = 0;
  private samples = 0;

  private live(): number {
    const usage = process.memoryUsage();
    return usage.heapUsed + usage.external;
  }

  /** A full collection, then another that waits for the first one's ArrayBuffer sweep. */
  private collect(): void {
    this.gc();
    this.gc();
  }

  start(): void {
    this.collect();
    this.baseline = this.live();
    this.baselineRss = process.memoryUsage().rss;
    this.peak = this.baseline;
    this.peakRss = this.baselineRss;
  }

  /** Takes a sample; cheap enough to call once per MiB streamed. */
  sample(): void {
    this.collect();
    this.samples++;
    this.peak = Math.max(this.peak, this.live());
    this.peakRss = Math.max(this.peakRss, process.memoryUsage().rss);
  }

  /** Samples every `bytes` bytes seen through `tick(n)`. */
  every(bytes: number): (seen: number) => void {
    let next = bytes;
    return (seen) => {
      if (seen >= next) {
        next = seen + bytes;
        this.sample();
      }
    };
  }

  result() {
    return { growth: this.peak - this.baseline, rssGrowth: this.peakRss - this.baselineRss, samples: this.samples };
  }
}

export interface PresignedSendOptions {
  /** Send another content type than the one the URL was issued for. */
  contentType?: string;
  method?: string;
  url?: string;
  /** Replace form fields (POST policy uploads). */
  fields?: Record<string, string>;
}

/** Resolves a presigned URL that may be path-only (self-served providers) against the target's origin. */
export function absolute(url: string, base: string | undefined): string {
  if (/^https?:\/\//i.test(url)) return url;
  if (!base) throw new Error(`Presigned URL "${url}" is relative but the conformance target set no urlBase`);
  return new URL(url, base).toString();
}

/** Performs a presigned upload the way a browser would: plain fetch, no credentials. */
export async function sendPresignedUpload(
  request: PresignedRequest,
  body: Buffer,
  base: string | undefined,
  options: PresignedSendOptions = {},
): Promise<Response> {
  const url = absolute(options.url ?? request.url, base);
  if (request.method === 'POST' && request.fields) {
    const fields = { ...request.fields, ...options.fields };
    const contentTypeField = Object.keys(fields).find((name) => name.toLowerCase() === 'content-type');
    if (options.contentType && contentTypeField) fields[contentTypeField] = options.contentType;
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    // The file must be the last field of a POST policy upload.
    form.append('file', new Blob([new Uint8Array(body)], { type: options.contentType ?? request.headers['content-type'] ?? 'application/octet-stream' }));
    return fetch(url, { method: options.method ?? 'POST', body: form });
  }
  const headers: Record<string, string> = { ...request.headers };
  if (options.contentType) {
    for (const name of Object.keys(headers)) if (name.toLowerCase() === 'content-type') delete headers[name];
    headers['content-type'] = options.contentType;
  }
  const method = options.method ?? request.method;
  return fetch(url, { method, headers, body: method === 'GET' || method === 'HEAD' ? undefined : new Uint8Array(body) });
}

/** Drains a response body so the connection is released, returning its bytes. */
export async function responseBytes(response: Response): Promise<Buffer> {
  return Buffer.from(await response.arrayBuffer());
}

/** Waits until a presigned request has certainly expired (plus clock slack for the server). */
export async function untilExpired(request: PresignedRequest, slackMs = 1500): Promise<void> {
  const wait = request.expiresAt.getTime() - Date.now() + slackMs;
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}

export function readableOf(chunks: Buffer[]): Readable {
  return Readable.from(chunks, { objectMode: false });
}
