import { Injectable, Logger } from '@nestjs/common';

export type StorageOperation =
  | 'store'
  | 'read'
  | 'head'
  | 'delete'
  | 'list'
  | 'presign_download'
  | 'presign_upload'
  | 'upload'
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

/** A provider's circuit breaker state (cockatiel's CircuitState, by name). */
export type BreakerState = 'closed' | 'open' | 'half_open' | 'isolated';

/**
 * DI token under which a module may supply a replacement (a StorageInstrumentation subclass)
 * for every StorageService. Internal: the metrics module provides it; apps import that module.
 */
export const STORAGE_INSTRUMENTATION_OVERRIDE = Symbol('BOARDS_STORAGE_INSTRUMENTATION_OVERRIDE');

/**
 * The fields of an operation's log line, in a fixed order and nothing else: the event carries
 * no URL, key, token or error message, so no secret can reach a log line through here.
 */
export function operationLogFields(event: OperationEvent): Record<string, string | number> {
  const fields: Record<string, string | number> = {
    operation: event.operation,
    provider: event.provider,
    outcome: event.outcome,
    durationMs: Math.round(event.durationMs * 10) / 10,
  };
  if (event.artifactId !== undefined) fields.artifactId = event.artifactId;
  if (event.artifactType !== undefined) fields.artifactType = event.artifactType;
  if (event.bytes !== undefined) fields.bytes = event.bytes;
  if (event.errorCode !== undefined) fields.errorCode = event.errorCode;
  return fields;
}

/**
 * Receives one event per storage operation. The default writes a structured log line (success
 * at debug, failure at warn) with the fields as Nest structured params, so a ConsoleLogger with
 * `json: true` prints them as JSON properties. The metrics module replaces it with a subclass
 * that feeds Prometheus as well. Never given secrets or URLs.
 */
@Injectable()
export class StorageInstrumentation {
  protected readonly logger = new Logger('Storage');

  operation(event: OperationEvent): void {
    const fields = operationLogFields(event);
    if (event.outcome === 'error') this.logger.warn('storage operation failed', fields);
    else this.logger.debug('storage operation', fields);
  }

  /**
   * Called by whoever owns a provider's circuit breaker on every state change. The default logs
   * it; the metrics module also sets its breaker gauge.
   */
  breakerStateChanged(provider: string, state: BreakerState): void {
    const fields = { provider, state };
    if (state === 'closed') this.logger.log('circuit breaker closed', fields);
    else this.logger.warn(`circuit breaker ${state.replace('_', '-')}`, fields);
  }

  /**
   * Called once per provider when the application starts, with its breaker's state (closed
   * unless something already tripped it), so a gauge has a value before the first transition.
   * The default does nothing.
   */
  breakerStateKnown(_provider: string, _state: BreakerState): void {}

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
