import type { IncomingMessage } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import { ConfigurationError, IncompleteBodyError, InvalidArgumentError } from '../errors/index.js';
import { holdErrors } from '../streams/body.js';

/**
 * The raw body of a request as a stream the storage layer may fail or abandon without
 * destroying the socket (so the client still receives the 4xx answer). A client that
 * disconnects mid-body fails the stream with IncompleteBodyError.
 */
export function requestBody(request: IncomingMessage): Readable {
  if (request.readableEnded || (request as { _body?: boolean })._body) {
    throw new ConfigurationError(
      'The request body was consumed by a body parser before the storage route could stream it: ' +
        'create the app with { bodyParser: false } or keep parsers off streaming routes',
    );
  }
  // Node decodes only chunked framing; any other coding would be stored still encoded.
  const coding = request.headers['transfer-encoding'];
  if (coding !== undefined && coding.trim().toLowerCase() !== 'chunked') {
    throw new InvalidArgumentError(`Unsupported Transfer-Encoding "${coding.slice(0, 40)}": send the body as is or chunked`);
  }
  const body = holdErrors(new PassThrough());
  request.on('error', (error) => body.destroy(new IncompleteBodyError('The client connection failed mid-body', { cause: error })));
  request.on('close', () => {
    if (!request.complete) body.destroy(new IncompleteBodyError('The client disconnected before sending the whole body'));
  });
  request.pipe(body);
  return body;
}

/** The declared Content-Length of a request, when present and well-formed. */
export function declaredLength(request: IncomingMessage): number | undefined {
  const header = request.headers['content-length'];
  if (header === undefined) return undefined;
  if (!/^\d{1,15}$/.test(header)) throw new InvalidArgumentError('Malformed Content-Length');
  return Number(header);
}
