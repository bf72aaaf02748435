import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';

/** What Node's HTTP parser refused, as the status and the `code` of our JSON errors. */
function answerOf(error: NodeJS.ErrnoException): { status: number; error: string; code: string; message: string } {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, error: 'Request Header Fields Too Large', code: 'E_HEADERS_TOO_LARGE', message: 'The request headers are too large' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, error: 'Request Timeout', code: 'E_TIMEOUT', message: 'The request took too long to arrive' };
    default:
      return { status: 400, error: 'Bad Request', code: 'E_INVALID_ARGUMENT', message: 'Malformed HTTP request' };
  }
}

/**
 * Requests that Node's HTTP parser refuses (bad framing, conflicting or invalid Content-Length,
 * unknown Transfer-Encoding, oversized headers) never reach Nest. Node answers them with an empty
 * body; this answers with the same status and the JSON error shape of every other error, then
 * destroys the connection, as Node does.
 */
export function answerClientErrorsAsJson(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const { status, ...rest } = answerOf(error);
    const body = JSON.stringify({ statusCode: status, ...rest });
    socket.write(
      `HTTP/1.1 ${status} ${rest.error}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    // Destroyed at once, as Node's own handler does: a request of this connection still in
    // flight (a body that arrived whole before the garbage) is aborted, not completed after the
    // client was told 400.
    socket.destroy();
  });
}
