import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A request written byte for byte on a raw socket: nothing normalises the path, the headers or
 * the framing (fetch would resolve `..`, refuse bad headers and fix Content-Length).
 */
export interface RawRequest {
  method: string;
  /** Sent exactly as given on the request line. */
  path: string;
  headers?: Array<[string, string]>;
  /** Body parts, written in order; `pauseMs` waits between them. */
  body?: Array<Buffer | string>;
  pauseMs?: number;
  /**
   * After the last part: `wait` for the answer (default), `end` half-closes then waits, `destroy`
   * resets the connection without reading an answer (a client that vanished mid-body).
   */
  then?: 'wait' | 'end' | 'destroy';
  /** Adds Content-Length of the body parts unless a header already sets framing. Default true. */
  autoLength?: boolean;
}

export interface RawResponse {
  /** 0 when no status line came back (connection closed, reset, or the client left). */
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** Set when the socket failed (reset, timeout) rather than closing cleanly. */
  error?: string;
}

function encodeRequest(request: RawRequest): Buffer {
  const headers = [...(request.headers ?? [])];
  const names = new Set(headers.map(([name]) => name.toLowerCase()));
  const bodyBytes = (request.body ?? []).reduce((sum, part) => sum + Buffer.byteLength(part), 0);
  if (!names.has('host')) headers.unshift(['Host', '127.0.0.1']);
  if (!names.has('connection')) headers.push(['Connection', 'close']);
  if (request.autoLength !== false && !names.has('content-length') && !names.has('transfer-encoding') && request.body) {
    headers.push(['Content-Length', String(bodyBytes)]);
  }
  // An empty Host is the way a case asks for none at all.
  const sent = headers.filter(([name, value]) => !(name.toLowerCase() === 'host' && value === ''));
  const head = `${request.method} ${request.path} HTTP/1.1\r\n${sent.map(([n, v]) => `${n}: ${v}`).join('\r\n')}\r\n\r\n`;
  return Buffer.from(head, 'latin1');
}

/** Parses a (possibly partial) HTTP/1.1 response; complete when its framing says so. */
function parse(bytes: Buffer, method: string): { response: RawResponse; complete: boolean } | undefined {
  // Interim answers (100 Continue) come before the real one.
  while (/^HTTP\/1\.[01] 1\d\d /.test(bytes.subarray(0, 16).toString('latin1')) && bytes.includes('\r\n\r\n')) {
    bytes = bytes.subarray(bytes.indexOf('\r\n\r\n') + 4);
  }
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const lines = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0])?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const body = bytes.subarray(end + 4);
  const length = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
  // HEAD answers, 1xx, 204 and 304 carry no body whatever their headers say.
  const bodiless = method === 'HEAD' || status < 200 || status === 204 || status === 304;
  const complete =
    bodiless ? true : length !== undefined ? body.length >= length : headers['transfer-encoding'] === 'chunked' ? body.includes('0\r\n\r\n') : false;
  return { response: { status, headers, body: length !== undefined ? body.subarray(0, length) : body }, complete };
}

/** Sends one raw request and reads the answer (or notes that none came). */
export async function rawRequest(port: number, request: RawRequest, timeoutMs = 5_000): Promise<RawResponse> {
  const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  const received: Buffer[] = [];
  let failure: string | undefined;
  const closed = new Promise<void>((resolve) => {
    socket.on('data', (chunk) => {
      received.push(chunk);
      // A complete answer is enough: a server may keep reading an unfinished body.
      if (parse(Buffer.concat(received), request.method)?.complete) socket.destroy();
    });
    // The server finished its side: whatever it sent is the answer (the socket is half-open by choice).
    socket.on('end', () => socket.destroy());
    socket.on('error', (error) => {
      failure = (error as NodeJS.ErrnoException).code ?? error.message;
    });
    socket.on('close', () => resolve());
  });
  const timer = setTimeout(() => {
    failure ??= 'timeout';
    socket.destroy();
  }, timeoutMs);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const write = (data: Buffer | string) =>
      new Promise<void>((resolve) => {
        if (socket.destroyed) return resolve();
        socket.write(data, () => resolve());
      });
    await write(encodeRequest(request));
    for (const [index, part] of (request.body ?? []).entries()) {
      if (index > 0 && request.pauseMs) await sleep(request.pauseMs);
      await write(part);
    }
    if (request.then === 'destroy') {
      if (request.pauseMs) await sleep(request.pauseMs);
      socket.resetAndDestroy();
      await closed;
      return { status: 0, headers: {}, body: Buffer.alloc(0), error: 'client reset' };
    }
    if (request.then === 'end') socket.end();
    await closed;
  } catch (error) {
    failure ??= (error as Error).message;
  } finally {
    clearTimeout(timer);
  }
  const parsed = parse(Buffer.concat(received), request.method);
  return parsed ? { ...parsed.response, error: failure } : { status: 0, headers: {}, body: Buffer.concat(received), error: failure ?? 'closed without an answer' };
}

/** Percent-encodes what cannot stand on a request line at all; leaves `..`, `\`, `%` and unicode raw. */
export function rawPathSegment(value: string): string {
  return Buffer.from(value, 'utf8')
    .toString('latin1')
    .replace(/[\x00-\x20\x7f?#]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`);
}
