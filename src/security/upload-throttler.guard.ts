import { Injectable, Optional, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  type ThrottlerLimitDetail,
  type ThrottlerModuleOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import type { Request } from 'express';
import { AUDIT_ACTION_METADATA, RateLimitedError, StorageAuditLog, requestFacts, type AuditActionMetadata } from '@app/storage';

/** Methods that send bytes or start an upload: POST /artifacts, POST /uploads(/:id/complete), PUT to signed URLs. */
const UPLOAD_METHODS = new Set(['POST', 'PUT']);

/**
 * @nestjs/throttler on the upload endpoints only, per client address (`request.ip`, so behind
 * a proxy set TRUST_PROXY). A refusal is a RateLimitedError: 429 in the API's JSON error shape,
 * with Retry-After, and a denial in the audit trail.
 */
@Injectable()
export class UploadThrottlerGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    @Optional() private readonly audit?: StorageAuditLog,
  ) {
    super(options, storage, reflector);
  }

  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    return !UPLOAD_METHODS.has(context.switchToHttp().getRequest<Request>().method);
  }

  /** One budget per client for every upload route (the default would count each route apart). */
  protected override generateKey(_context: ExecutionContext, tracker: string, throttler: string): string {
    return `uploads:${throttler}:${tracker}`;
  }

  protected override async throwThrottlingException(context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    const request = context.switchToHttp().getRequest<Request>();
    const named = this.reflector.getAllAndOverride<AuditActionMetadata | undefined>(AUDIT_ACTION_METADATA, [
      context.getHandler(),
      context.getClass(),
    ]);
    await this.audit
      ?.record({
        action: named?.action ?? 'upload',
        ...requestFacts(request),
        outcome: 'denied',
        statusCode: 429,
        errorCode: 'E_RATE_LIMITED',
      })
      .catch(() => undefined);
    throw new RateLimitedError(`Too many uploads: at most ${detail.limit} per ${Math.round(detail.ttl / 1000)} s`, detail.timeToBlockExpire);
  }
}
