import { CircuitState } from 'cockatiel';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { StorageMetrics } from './storage-metrics.js';
import type { StoredBytesRow } from './stored-bytes.source.js';

async function values(metrics: StorageMetrics, name: string): Promise<{ labels: Record<string, string | number>; value: number }[]> {
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  return (await metric.get()).values as { labels: Record<string, string | number>; value: number }[];
}

describe('StorageMetrics', () => {
  it('counts an operation, its bytes by direction and its error code', async () => {
    const metrics = new StorageMetrics();
    metrics.recordOperation({ operation: 'store', provider: 's3', outcome: 'success', durationMs: 12, bytes: 100 });
    metrics.recordOperation({ operation: 'complete_upload', provider: 's3', outcome: 'success', durationMs: 3, bytes: 50 });
    metrics.recordOperation({ operation: 'read', provider: 's3', outcome: 'success', durationMs: 2, bytes: 40 });
    metrics.recordOperation({ operation: 'presign_download', provider: 's3', outcome: 'success', durationMs: 1, bytes: 999 });
    metrics.recordOperation({ operation: 'read', provider: 's3', outcome: 'error', durationMs: 0, errorCode: 'E_CORRUPTION_SHA256' });

    expect(await values(metrics, 'boards_storage_bytes_in_total')).toEqual([{ labels: { provider: 's3' }, value: 150 }]);
    expect(await values(metrics, 'boards_storage_bytes_out_total')).toEqual([{ labels: { provider: 's3' }, value: 40 }]);
    expect(await values(metrics, 'boards_storage_errors_total')).toEqual([
      { labels: { provider: 's3', operation: 'read', code: 'E_CORRUPTION_SHA256' }, value: 1 },
    ]);
    const operations = await values(metrics, 'boards_storage_operations_total');
    expect(operations.find((v) => v.labels.operation === 'read' && v.labels.outcome === 'error')?.value).toBe(1);
    // An event without a duration (detected mid-stream) is counted but not observed.
    const counts = (await values(metrics, 'boards_storage_operation_duration_seconds')).filter((v) => (v as { metricName?: string }).metricName?.endsWith('_count'));
    expect(counts.find((v) => v.labels.operation === 'read' && v.labels.outcome === 'error')).toBeUndefined();
    expect(counts.find((v) => v.labels.operation === 'store')?.value).toBe(1);
  });

  it('keeps one breaker state at 1 per provider and accepts cockatiel states', async () => {
    const metrics = new StorageMetrics();
    metrics.setBreakerState('s3', 'open');
    metrics.setBreakerState('gcs', CircuitState.HalfOpen);
    const current = (await values(metrics, 'boards_storage_circuit_breaker_state')).filter((v) => v.value === 1).map((v) => v.labels);
    expect(current).toEqual([
      { provider: 's3', state: 'open' },
      { provider: 'gcs', state: 'half_open' },
    ]);
    expect(() => metrics.setBreakerState('s3', 'ajar' as never)).toThrow(TypeError);
  });

  it('uses a given registry and prefix; two instances with their own registries do not collide', async () => {
    const registry = new Registry();
    const metrics = new StorageMetrics({ registry, prefix: 'app_storage_' });
    new StorageMetrics();
    new StorageMetrics();
    metrics.recordOperation({ operation: 'delete', provider: 'local', outcome: 'success', durationMs: 1 });
    expect(await registry.metrics()).toContain('app_storage_operations_total{provider="local",operation="delete",outcome="success"} 1');
  });

  it('queries stored bytes at most once per refresh period, and keeps the last values when the query fails', async () => {
    let calls = 0;
    let fail = false;
    let rows: StoredBytesRow[] = [{ provider: 'local', artifactType: 'image', artifacts: 2, bytes: 2048 }];
    const source = async () => {
      calls++;
      if (fail) throw new Error('database is gone');
      return rows;
    };
    const cached = new StorageMetrics({ storedBytesRefreshSeconds: 60 }, source);
    await cached.scrape();
    await cached.scrape();
    expect(calls).toBe(1);

    calls = 0;
    const live = new StorageMetrics({ storedBytesRefreshSeconds: 0 }, source);
    expect((await live.scrape()).body).toContain('boards_storage_stored_bytes{provider="local",artifact_type="image"} 2048');
    expect(calls).toBe(1); // one query feeds both gauges
    rows = [{ provider: 'local', artifactType: 'video', artifacts: 1, bytes: 10 }];
    let body = (await live.scrape()).body;
    expect(body).toContain('boards_storage_stored_bytes{provider="local",artifact_type="video"} 10');
    expect(body).not.toContain('artifact_type="image"'); // a type with no artifacts left disappears
    fail = true;
    body = (await live.scrape()).body;
    expect(body).toContain('boards_storage_stored_artifacts{provider="local",artifact_type="video"} 1');
  });

  it('answers a scrape within seconds while the stored-bytes query stalls, with the last values', async () => {
    let stall = false;
    const rows: StoredBytesRow[] = [{ provider: 'local', artifactType: 'image', bytes: 42, artifacts: 1 }];
    const metrics = new StorageMetrics({ registry: new Registry(), storedBytesRefreshSeconds: 0 }, () => (stall ? new Promise(() => undefined) : Promise.resolve(rows)));
    expect((await metrics.scrape()).body).toContain('artifact_type="image"');
    stall = true;
    const started = Date.now();
    const scraped = await metrics.scrape();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(scraped.body).toMatch(/stored_bytes\{[^}]*artifact_type="image"[^}]*\} 42/);
  }, 10_000);
});

