import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { StorageAuditModule } from '@app/storage';
import type { ServerSettings } from '../settings.js';
import { UploadThrottlerGuard } from './upload-throttler.guard.js';

/**
 * The server's audit trail (StorageAuditModule, re-exported so the artifact guard records its
 * refusals) and the upload rate limit (UPLOAD_RATE_LIMIT per UPLOAD_RATE_TTL seconds; 0 turns it off).
 */
@Module({})
export class ServerSecurityModule {
  static register(settings: ServerSettings): DynamicModule {
    const audit = StorageAuditModule.forRoot();
    const limited = settings.uploadRateLimit > 0;
    return {
      module: ServerSecurityModule,
      imports: [
        audit,
        ...(limited ? [ThrottlerModule.forRoot([{ limit: settings.uploadRateLimit, ttl: settings.uploadRateTtlSeconds * 1000 }])] : []),
      ],
      providers: limited ? [{ provide: APP_GUARD, useClass: UploadThrottlerGuard }] : [],
      exports: [audit],
    };
  }
}
