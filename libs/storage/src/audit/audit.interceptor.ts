import { Injectable, Logger, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { catchError, throwError, type Observable } from 'rxjs';
import { v7 as uuidv7 } from 'uuid';
import type { ArtifactRegistry } from '../registry/index.js';
import type { AuditEventInput, StorageAuditLog } from './audit-log.js';
import { failureFacts, outcomeOf, requestFacts } from './audit-request.js';
import { AUDIT_ACTION_METADATA, type AuditActionMetadata } from './audit.decorator.js';

/**
 * Records each request to an @AuditAction route once its response is over (so the status is
 * final, and a client that hangs up mid-download is recorded as such). Writing never fails
 * or delays the request: an audit write that fails is logged.
 */
@Injectable()
export class StorageAuditInterceptor implements NestInterceptor {
  private readonly logger = new Logger('StorageAudit');

  constructor(
    private readonly reflector: Reflector,
    private readonly audit: StorageAuditLog,
    private readonly registry: ArtifactRegistry,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const rule = this.reflector.getAllAndOverride<AuditActionMetadata | undefined>(AUDIT_ACTION_METADATA, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!rule || context.getType() !== 'http') return next.handle();
    const request = context.switchToHttp().getRequest<Request>();
    const response = context.switchToHttp().getResponse<Response>();
    // Stamped on arrival: the trail lists requests in the order they came, whenever they end.
    const stamp = { id: uuidv7(), occurredAt: new Date() };
    let failure: { error: unknown } | undefined;
    const written = countBodyBytes(response);
    response.once('close', () => {
      // The connection failing before the answer was flushed (a reset) cuts it short too.
      const socketFailed = Boolean(request.socket?.errored);
      // Handed over whole: the handler ended the response, or wrote every byte its Content-Length
      // announced, and the connection did not fail. A client that closes as soon as it has the
      // last byte closes before the stream ends the response and before 'finish', so
      // writableFinished alone would call a complete download aborted.
      const announced = Number(response.getHeader('content-length'));
      const whole = response.writableEnded || (Number.isSafeInteger(announced) && written() >= announced);
      const delivered = response.writableFinished || (whole && !socketFailed);
      void this.write(rule, stamp, request, response, failure, delivered);
    });
    return next.handle().pipe(
      catchError((error: unknown) => {
        failure = { error };
        return throwError(() => error);
      }),
    );
  }

  private async write(
    rule: AuditActionMetadata,
    stamp: { id: string; occurredAt: Date },
    request: Request,
    response: Response,
    failure: { error: unknown } | undefined,
    delivered: boolean,
  ): Promise<void> {
    try {
      const event: AuditEventInput = { ...stamp, action: rule.action, ...requestFacts(request), outcome: 'success', statusCode: response.statusCode };
      // A response cut short (client gone mid-download, failure mid-stream) is an abort, whatever was
      // thrown; when no answer was sent at all (an upload the client abandoned) there is no status.
      if (!delivered) Object.assign(event, { outcome: 'error', errorCode: 'E_ABORTED', statusCode: response.headersSent ? response.statusCode : null });
      else if (failure) Object.assign(event, failureFacts(failure.error));
      else event.outcome = outcomeOf(response.statusCode);
      if (rule.locate && !event.artifactId) Object.assign(event, await this.locate(request));
      await this.audit.record(event);
    } catch (error) {
      this.logger.warn({ msg: 'could not write an audit event', action: rule.action, error: String(error) });
    }
  }

  /** The artifact a signed URL's provider and key belong to, when a record has them. */
  private async locate(request: Request): Promise<Partial<AuditEventInput>> {
    const provider = request.params?.provider;
    const segments = request.params?.key as unknown;
    const key = Array.isArray(segments) ? segments.join('/') : typeof segments === 'string' ? segments : undefined;
    if (typeof provider !== 'string' || !key || key.length > 1024) return {};
    const artifact = await this.registry.findByLocation(provider, key);
    return artifact ? { artifactId: artifact.id, boardId: artifact.boardId, tenant: artifact.tenant } : {};
  }
}

/** Counts the body bytes handed to `response` from now on (it wraps the instance's write and end). */
function countBodyBytes(response: Response): () => number {
  let bytes = 0;
  const count = (chunk: unknown, encoding: unknown) => {
    if (typeof chunk === 'string') bytes += Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
    else if (chunk instanceof Uint8Array) bytes += chunk.byteLength;
  };
  const write = response.write;
  const end = response.end;
  response.write = function (this: Response, chunk: unknown, ...rest: unknown[]) {
    count(chunk, rest[0]);
    return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as Response['write'];
  response.end = function (this: Response, ...args: unknown[]) {
    if (typeof args[0] !== 'function') count(args[0], args[1]);
    return (end as (...args: unknown[]) => Response).apply(this, args);
  } as Response['end'];
  return () => bytes;
}
