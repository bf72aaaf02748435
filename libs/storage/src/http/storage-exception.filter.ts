import { Catch, HttpException, HttpStatus, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import { RangeNotSatisfiableError, StorageError } from '../errors/index.js';

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  code: string;
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  507: 'Insufficient Storage',
};

/** Maps any error to `{statusCode, error, message, code}`: the one place errors become HTTP. */
export function toErrorBody(exception: unknown): ErrorBody {
  if (exception instanceof StorageError) {
    const status = exception.status;
    const message = status >= 500 && status !== 503 && status !== 507 && status !== 504 ? 'Storage operation failed' : exception.message;
    return { statusCode: status, error: REASONS[status] ?? 'Error', message, code: exception.code };
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const response = exception.getResponse();
    const raw = typeof response === 'string' ? response : (response as { message?: unknown }).message;
    const message = Array.isArray(raw) ? raw.join('; ') : String(raw ?? exception.message);
    const code = (typeof response === 'object' && (response as { code?: string }).code) || `E_HTTP_${status}`;
    return { statusCode: status, error: REASONS[status] ?? exception.name, message, code };
  }
  // body-parser and Express errors carry a status; anything else is a 500 without details.
  const status = (exception as { status?: number; statusCode?: number })?.status ?? (exception as { statusCode?: number })?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { statusCode: status, error: REASONS[status] ?? 'Bad Request', message: (exception as Error).message, code: `E_HTTP_${status}` };
  }
  return { statusCode: HttpStatus.INTERNAL_SERVER_ERROR, error: REASONS[500], message: 'Internal server error', code: 'E_INTERNAL' };
}

const HANG_UP_CODES = new Set(['ERR_STREAM_PREMATURE_CLOSE', 'ECONNRESET', 'EPIPE']);

/** A stream error caused by the client closing its connection (not by the server or the backend). */
function clientHungUp(exception: unknown, response: Response): boolean {
  const code = (exception as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && HANG_UP_CODES.has(code) && (response.destroyed || !response.socket || response.socket.destroyed);
}

/** Headers that describe an artifact's bytes, not an error about them. */
const REPRESENTATION_HEADERS = ['ETag', 'Last-Modified', 'Content-Range', 'Content-Disposition', 'Accept-Ranges', 'Content-Encoding'];

/** Answers StorageError (and every other error) as JSON; aborts a response already streaming. */
@Catch()
export class StorageExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('StorageHttp');

  catch(exception: unknown, host: ArgumentsHost): void {
    const context = host.switchToHttp();
    const response = context.getResponse<Response>();
    const request = context.getRequest<Request>();
    if (clientHungUp(exception, response)) {
      // The client left mid-answer: nobody to answer, and no server failure to report.
      response.destroy();
      return;
    }
    const body = toErrorBody(exception);
    if (body.statusCode >= 500) {
      this.logger.error({ msg: 'request failed', method: request.method, path: request.path, code: body.code, error: String(exception), stack: (exception as Error)?.stack });
    }
    if (response.headersSent) {
      // Mid-stream failure: the status is gone; cut the connection so the client sees a truncated body.
      response.destroy();
      return;
    }
    // A body we did not read (refused upload) must not poison a kept-alive connection.
    if (!request.complete) response.setHeader('Connection', 'close');
    // The error is not the representation: drop the validators and framing set for the bytes.
    for (const header of REPRESENTATION_HEADERS) response.removeHeader(header);
    if (exception instanceof RangeNotSatisfiableError) response.setHeader('Content-Range', `bytes */${exception.size}`);
    response.status(body.statusCode).json(body);
  }
}
