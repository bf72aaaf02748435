import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** What Node's HTTP parser refused, as the status and the `code` of our JSON errors (Node's own statuses). */
function answerOf(error: NodeJS.ErrnoException): { status: number; error: string; code: string; message: string } {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, error: 'Request Header Fields Too Large', code: 'E_HEADERS_TOO_LARGE', message: 'The request headers are too large' };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, error: 'Payload Too Large', code: 'E_TOO_LARGE', message: 'The chunk extensions are too large' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, error: 'Request Timeout', code: 'E_TIMEOUT', message: 'The request took too long to arrive' };
    default:
      return { status: 400, error: 'Bad Request', code: 'E_INVALID_ARGUMENT', message: 'Malformed HTTP request' };
  }
}

/**
 * Requests that Node's HTTP parser refuses (bad framing, conflicting or invalid Content-Length,
 * unknown Transfer-Encoding, oversized headers) never reach Nest. Node answers them with an empty
 * body; this answers with the same status and the JSON error shape of every other error, and
 * closes the connection.
 *
 * When the bytes the parser refused follow a whole request that is still being answered (a body
 * shorter than its Content-Length said, then garbage), that request is answered first, as
 * pipelining requires, and the refusal after it: the client is never told 400 about a request the
 * server went on to complete. A request whose own body the refusal cuts short fails as a client
 * that left.
 */
export function answerClientErrorsAsJson(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const { status, ...rest } = answerOf(error);
    const body = JSON.stringify({ statusCode: status, ...rest });
    const refuse = () => {
      if (!socket.writable) {
        socket.destroy();
        return;
      }
      // Ended, not destroyed: closing with unread bytes sends a reset, which makes the client's
      // kernel drop the answer it has not read yet. What follows is read and dropped until the
      // client closes, or for a grace period.
      const grace = setTimeout(() => socket.destroy(), 5_000);
      grace.unref();
      socket.once('close', () => clearTimeout(grace));
      socket.end(
        `HTTP/1.1 ${status} ${rest.error}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
      socket.resume();
    };
    const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse & { req?: IncomingMessage } })._httpMessage;
    if (!inFlight || inFlight.writableFinished) {
      refuse();
      return;
    }
    if (inFlight.req?.complete && !inFlight.headersSent) {
      let answered = false;
      // Ahead of Node's own 'finish' listener, which ends a connection whose parser has failed.
      inFlight.prependOnceListener('finish', () => {
        answered = true;
        refuse();
      });
      // Closed without finishing (the handler failed the connection): nothing more to answer.
      inFlight.once('close', () => {
        if (!answered) socket.destroy();
      });
      return;
    }
    // An answer already under way cannot be followed by another one: the connection ends here.
    if (inFlight.headersSent) {
      socket.destroy();
      return;
    }
    // The refused bytes are the in-flight request's own body (bad chunk framing): the refusal is its
    // answer, and it fails as a client that left once the connection closes.
    refuse();
  });
}
