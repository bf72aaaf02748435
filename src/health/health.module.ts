import { Module, type DynamicModule } from '@nestjs/common';
import { StorageHealthModule } from '@app/storage/health';
import type { ServerSettings } from '../settings.js';
import { HealthController } from './health.controller.js';

/** `GET /health/live` and `GET /health/ready`. */
@Module({})
export class ServerHealthModule {
  static register(settings: ServerSettings): DynamicModule {
    return {
      module: ServerHealthModule,
      imports: [
        StorageHealthModule.forRoot({
          timeoutMs: settings.healthTimeoutMs,
          // On SIGTERM readiness answers 503 for this long before the server closes, so the
          // load balancer stops routing here while requests in flight finish.
          terminus: { gracefulShutdownTimeoutMs: settings.shutdownGraceMs, errorLogStyle: 'json' },
        }),
      ],
      controllers: [HealthController],
    };
  }
}
