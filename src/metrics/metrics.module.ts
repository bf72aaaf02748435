import { Module, type DynamicModule } from '@nestjs/common';
import { StorageMetricsModule } from '@app/storage/metrics';
import type { ServerSettings } from '../settings.js';
import { MetricsController } from './metrics.controller.js';

/** `GET /metrics`: the storage metrics plus Node.js process metrics. */
@Module({})
export class ServerMetricsModule {
  static register(settings: ServerSettings): DynamicModule {
    return {
      module: ServerMetricsModule,
      imports: [StorageMetricsModule.forRoot({ defaultMetrics: true, storedBytesRefreshSeconds: settings.storedBytesRefreshSeconds })],
      controllers: [MetricsController],
    };
  }
}
