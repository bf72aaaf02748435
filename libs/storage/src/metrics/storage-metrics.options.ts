import type { Registry } from 'prom-client';

export interface StorageMetricsOptions {
  /** Registry the metrics are registered in. Default: a registry of their own (see StorageMetrics.registry). */
  registry?: Registry;
  /** Prefix of every metric name. Default `boards_storage_`. */
  prefix?: string;
  /** Also collect prom-client's default Node.js process metrics into the registry. Default false. */
  defaultMetrics?: boolean;
  /** Buckets of the latency histogram, in seconds. */
  durationBuckets?: number[];
  /**
   * The stored-bytes gauges come from one grouped query on the artifact registry, run on a
   * scrape when the last result is older than this. Default 60; 0 queries on every scrape.
   */
  storedBytesRefreshSeconds?: number;
}

export const DEFAULT_METRICS_PREFIX = 'boards_storage_';

/** From 5 ms to 2 min: small reads through multi-gigabyte uploads. */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
