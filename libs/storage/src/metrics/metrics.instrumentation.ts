import { Injectable, Logger } from '@nestjs/common';
import { StorageInstrumentation, type BreakerState, type OperationEvent } from '../service/instrumentation.js';
import { StorageMetrics } from './storage-metrics.js';

/** StorageInstrumentation that logs (as the default does) and also feeds StorageMetrics. */
@Injectable()
export class MetricsStorageInstrumentation extends StorageInstrumentation {
  private readonly metricsLogger = new Logger('StorageMetrics');

  constructor(readonly metrics: StorageMetrics) {
    super();
  }

  override operation(event: OperationEvent): void {
    super.operation(event);
    try {
      this.metrics.recordOperation(event);
    } catch (error) {
      // Metrics never fail a storage operation.
      this.metricsLogger.warn('could not record a storage operation', { error: String(error) });
    }
  }

  override breakerStateChanged(provider: string, state: BreakerState): void {
    super.breakerStateChanged(provider, state);
    this.metrics.setBreakerState(provider, state);
  }

  override breakerStateKnown(provider: string, state: BreakerState): void {
    this.metrics.setBreakerState(provider, state);
  }
}
