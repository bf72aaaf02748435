import { Injectable, Logger } from '@nestjs/common';

export type StorageOperation =
  | 'store'
  | 'read'
  | 'head'
  | 'delete'
  | 'list'
  | 'presign_download'
  | 'presign_upload'
  | 'complete_upload'
  | 'copy'
  | 'ping'
  | 'cleanup';

export interface OperationEvent {
  operation: StorageOperation;
  provider: string;
  outcome: 'success' | 'error';
  durationMs: number;
  artifactId?: string;
  artifactType?: string;
  bytes?: number;
  errorCode?: string;
}

/**
 * Receives one event per storage operation. The default writes a structured log line; the
 * metrics module replaces it to feed Prometheus as well. Never given secrets or URLs.
 */
@Injectable()
export class StorageInstrumentation {
  protected readonly logger = new Logger('Storage');

  operation(event: OperationEvent): void {
    const line = { msg: 'storage operation', ...event };
    if (event.outcome === 'error') this.logger.warn(line);
    else this.logger.debug?.(line);
  }

  /** Times an operation and reports it, rethrowing its error. */
  async track<T>(
    base: Omit<OperationEvent, 'outcome' | 'durationMs'>,
    run: () => Promise<T>,
    bytesOf?: (result: T) => number | undefined,
  ): Promise<T> {
    const started = performance.now();
    try {
      const result = await run();
      this.operation({ ...base, bytes: bytesOf?.(result) ?? base.bytes, outcome: 'success', durationMs: performance.now() - started });
      return result;
    } catch (error) {
      this.operation({
        ...base,
        outcome: 'error',
        durationMs: performance.now() - started,
        errorCode: (error as { code?: string }).code ?? 'E_UNKNOWN',
      });
      throw error;
    }
  }
}
