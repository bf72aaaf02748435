import { Logger } from '@nestjs/common';
import { CircuitState } from 'cockatiel';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BreakerState, OperationEvent } from '../service/instrumentation.js';
import {
  DEFAULT_DURATION_BUCKETS,
  DEFAULT_METRICS_PREFIX,
  type StorageMetricsOptions,
} from './storage-metrics.options.js';
import type { StoredBytesSource } from './stored-bytes.source.js';

const BREAKER_STATES: readonly BreakerState[] = ['closed', 'open', 'half_open', 'isolated'];

const FROM_CIRCUIT_STATE: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half_open',
  [CircuitState.Isolated]: 'isolated',
};

/**
 * Operations whose `bytes` entered storage, and the one whose bytes left it. A signed PUT
 * (`upload`) is left out of the bytes in: its bytes count once, with the `complete_upload` that
 * follows it, as a direct upload to S3 or GCS does.
 */
const BYTES_IN = new Set(['store', 'complete_upload']);
const BYTES_OUT = new Set(['read']);

/** Longest a scrape waits for the stored-bytes query before answering with the last values. */
const STORED_QUERY_WAIT_MS = 2000;

/**
 * The design's StorageMetrics as Prometheus metrics: operations, latency, bytes in and out,
 * errors by code, bytes stored per provider and artifact type, and circuit breaker state.
 * Fed by MetricsStorageInstrumentation; `setBreakerState` is for whoever owns the breakers.
 */
export class StorageMetrics {
  private readonly logger = new Logger('StorageMetrics');
  readonly registry: Registry;
  readonly operations: Counter<'provider' | 'operation' | 'outcome'>;
  readonly duration: Histogram<'provider' | 'operation' | 'outcome'>;
  readonly bytesIn: Counter<'provider'>;
  readonly bytesOut: Counter<'provider'>;
  readonly errors: Counter<'provider' | 'operation' | 'code'>;
  readonly storedBytes: Gauge<'provider' | 'artifact_type'>;
  readonly storedArtifacts: Gauge<'provider' | 'artifact_type'>;
  readonly breakerState: Gauge<'provider' | 'state'>;
  private readonly refreshMs: number;
  private storedAt = Number.NEGATIVE_INFINITY;
  private refreshing?: Promise<void>;
  private lastRefreshFailed = false;

  constructor(options: StorageMetricsOptions = {}, private readonly storedSource?: StoredBytesSource) {
    const prefix = options.prefix ?? DEFAULT_METRICS_PREFIX;
    const registers = [(this.registry = options.registry ?? new Registry())];
    this.refreshMs = (options.storedBytesRefreshSeconds ?? 60) * 1000;
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry });

    this.operations = new Counter({
      name: `${prefix}operations_total`,
      help: 'Storage operations by provider, operation and outcome (success or error).',
      labelNames: ['provider', 'operation', 'outcome'],
      registers,
    });
    this.duration = new Histogram({
      name: `${prefix}operation_duration_seconds`,
      help: 'Duration of storage operations, in seconds.',
      labelNames: ['provider', 'operation', 'outcome'],
      buckets: [...(options.durationBuckets ?? DEFAULT_DURATION_BUCKETS)],
      registers,
    });
    this.bytesIn = new Counter({
      name: `${prefix}bytes_in_total`,
      help: 'Bytes stored by successful uploads (store, complete_upload).',
      labelNames: ['provider'],
      registers,
    });
    this.bytesOut = new Counter({
      name: `${prefix}bytes_out_total`,
      help: 'Bytes opened for reading (whole objects or ranges) by successful reads.',
      labelNames: ['provider'],
      registers,
    });
    this.errors = new Counter({
      name: `${prefix}errors_total`,
      help: 'Failed storage operations by error code.',
      labelNames: ['provider', 'operation', 'code'],
      registers,
    });
    const refresh = () => this.refreshStored();
    this.storedBytes = new Gauge({
      name: `${prefix}stored_bytes`,
      help: 'Bytes of ready artifacts per provider and artifact type, from the artifact registry.',
      labelNames: ['provider', 'artifact_type'],
      registers,
      collect: refresh,
    });
    this.storedArtifacts = new Gauge({
      name: `${prefix}stored_artifacts`,
      help: 'Ready artifacts per provider and artifact type, from the artifact registry.',
      labelNames: ['provider', 'artifact_type'],
      registers,
      collect: refresh,
    });
    this.breakerState = new Gauge({
      name: `${prefix}circuit_breaker_state`,
      help: 'Circuit breaker state per provider: 1 for the current state, 0 for the others.',
      labelNames: ['provider', 'state'],
      registers,
    });
  }

  /** Counts one operation (what MetricsStorageInstrumentation calls for every event). */
  recordOperation(event: OperationEvent): void {
    const labels = { provider: event.provider, operation: event.operation, outcome: event.outcome };
    this.operations.inc(labels);
    // An event emitted outside a timed operation (a corrupt read detected mid-stream) has no duration.
    if (event.durationMs > 0) this.duration.observe(labels, event.durationMs / 1000);
    if (event.outcome === 'error') {
      this.errors.inc({ provider: event.provider, operation: event.operation, code: event.errorCode ?? 'E_UNKNOWN' });
      return;
    }
    if (event.bytes !== undefined && event.bytes > 0) {
      if (BYTES_IN.has(event.operation)) this.bytesIn.inc({ provider: event.provider }, event.bytes);
      else if (BYTES_OUT.has(event.operation)) this.bytesOut.inc({ provider: event.provider }, event.bytes);
    }
  }

  /**
   * Sets a provider's circuit breaker state: the named state reads 1, the others 0. Accepts a
   * state name or cockatiel's `CircuitState` (e.g. from `breaker.onStateChange`).
   */
  setBreakerState(provider: string, state: BreakerState | CircuitState): void {
    const current = typeof state === 'number' ? FROM_CIRCUIT_STATE[state] : state;
    if (!BREAKER_STATES.includes(current)) throw new TypeError(`Unknown circuit breaker state: ${String(state)}`);
    for (const name of BREAKER_STATES) this.breakerState.set({ provider, state: name }, name === current ? 1 : 0);
  }

  /** The registry in Prometheus text format, and its content type (for a scrape endpoint). */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /**
   * Refreshes both stored-bytes gauges from one query, at most once per refresh period. A scrape
   * waits for it at most STORED_QUERY_WAIT_MS: a database that stalls must not stall /metrics,
   * which then answers with the last values while the query goes on.
   */
  private async refreshStored(): Promise<void> {
    if (!this.storedSource) return;
    if (this.refreshMs > 0 && Date.now() - this.storedAt < this.refreshMs) return;
    this.refreshing ??= this.queryStored().finally(() => {
      this.refreshing = undefined;
    });
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        if (!this.lastRefreshFailed) this.logger.warn(`stored-bytes query takes longer than ${STORED_QUERY_WAIT_MS} ms; answering with the last values`);
        resolve();
      }, STORED_QUERY_WAIT_MS);
      timer.unref();
    });
    try {
      await Promise.race([this.refreshing, waited]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async queryStored(): Promise<void> {
    try {
      const rows = await this.storedSource!();
      this.storedBytes.reset();
      this.storedArtifacts.reset();
      for (const row of rows) {
        const labels = { provider: row.provider, artifact_type: row.artifactType };
        this.storedBytes.set(labels, row.bytes);
        this.storedArtifacts.set(labels, row.artifacts);
      }
      this.storedAt = Date.now();
      this.lastRefreshFailed = false;
    } catch (error) {
      // A scrape must not fail with the database: keep the last values, say so once.
      if (!this.lastRefreshFailed) this.logger.warn('could not refresh stored-bytes gauges; keeping the last values', { error: String(error) });
      this.lastRefreshFailed = true;
    }
  }
}
