import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ChecksumMismatchError,
  CircuitOpenError,
  ConfigurationError,
  CorruptionError,
  InsufficientStorageError,
  ProviderUnavailableError,
  TimeoutError,
  parseStorageConfig,
  readAll,
  resolveStorageOptions,
} from '@app/storage';
import { holds, oneShot, startResilienceApp, type ResilienceApp } from './resilience-support.js';

const sha = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const common = { artifactType: 'image', contentType: 'application/octet-stream', boardId: 'b1' };

describe('resilience: retries, fallbacks, breakers, timeouts, integrity', () => {
  let app: ResilienceApp;
  afterEach(async () => {
    vi.useRealTimers();
    await app?.close();
  });

  it('retries a replayable upload through transient faults and stores it on the routed provider', async () => {
    app = await startResilienceApp();
    app.primary.failNext(2, ['put']);
    const artifact = await app.storage.storeArtifact({ ...common, body: Buffer.from('third time lucky') });
    expect(artifact).toMatchObject({ provider: 'primary', status: 'ready', sha256: sha('third time lucky') });
    expect(app.primary.count('put')).toBe(3);
    expect(app.fallback.count('put')).toBe(0);
    expect(app.resilience.state('primary')).toBe('closed');
  });

  it('retries a body that fails after some bytes, leaving no partial object', async () => {
    app = await startResilienceApp();
    app.primary.failAfterBytes(5);
    const artifact = await app.storage.storeArtifact({ ...common, body: () => Buffer.from('0123456789abcdef') });
    expect(artifact.sha256).toBe(sha('0123456789abcdef'));
    expect(app.primary.count('put')).toBe(2);
    const { body } = await app.storage.openArtifact(artifact.id);
    expect((await readAll(body)).toString()).toBe('0123456789abcdef');
  });

  it('moves a replayable write to the fallback after retries, and the record names the fallback', async () => {
    app = await startResilienceApp({ resilience: { circuitBreaker: { consecutiveFailures: 10 } } });
    app.primary.down(['put']);
    const artifact = await app.storage.storeArtifact({ ...common, body: Buffer.from('kept safe elsewhere') });
    // eslint-disable-next-line no-console
    console.log(`[fallback write] artifact ${artifact.id}: routed to "primary" (down), record names provider "${artifact.provider}", key ${artifact.storageKey}`);
    expect(artifact.provider).toBe('fallback');
    expect(app.primary.count('put')).toBe(3); // retried, then given up
    expect(await holds(app.fallback, artifact.storageKey)).toBe(true);
    expect(await holds(app.primary, artifact.storageKey)).toBe(false);
    expect((await app.registry.findById(artifact.id))?.provider).toBe('fallback');
    // Reads follow the record, even while the routed provider is still down for reads.
    app.primary.down();
    const { body } = await app.storage.openArtifact(artifact.id);
    expect((await readAll(body)).toString()).toBe('kept safe elsewhere');
    expect(app.primary.count('get')).toBe(0);
    expect(app.events.find((e) => e.operation === 'store' && e.artifactId === artifact.id)?.provider).toBe('fallback');
  });

  it('fails a one-shot stream cleanly once it started flowing: no retry, no fallback, no record, no bytes', async () => {
    app = await startResilienceApp();
    app.primary.failAfterBytes(3);
    const error = await app.storage.storeArtifact({ ...common, artifactId: 'oneshot1', body: oneShot('a one-shot body') }).catch((e) => e);
    expect(error).toBeInstanceOf(ProviderUnavailableError);
    expect(error.status).toBe(503);
    expect(app.primary.count('put')).toBe(1);
    expect(app.fallback.count('put')).toBe(0);
    expect(await app.registry.findById('oneshot1')).toBeNull();
    expect((await app.primary.inner.list({ prefix: '' })).items).toEqual([]);
  });

  it('opens the breaker after the configured faults; then even a one-shot body goes straight to the fallback', async () => {
    app = await startResilienceApp();
    app.primary.down(['put']);
    await app.storage.storeArtifact({ ...common, body: Buffer.from('x') }); // 3 faults: breaker opens, write falls back
    expect(app.resilience.state('primary')).toBe('open');
    expect(app.resilience.isAvailable('primary')).toBe(false);
    const putsBefore = app.primary.count('put');
    const artifact = await app.storage.storeArtifact({ ...common, body: oneShot('streamed while primary is open') });
    expect(artifact.provider).toBe('fallback');
    expect(app.primary.count('put')).toBe(putsBefore); // the open breaker refused without touching the backend
    expect(app.transitions.map((t) => [t.provider, t.state])).toEqual([['primary', 'open']]);
    expect(app.instrumented).toEqual([{ provider: 'primary', state: 'open' }]);
  });

  it('opens the breaker after failed one-shot writes whose cleanup deletes succeed; the next write lands on the fallback', async () => {
    app = await startResilienceApp();
    // Writes fail, deletes work (deleting what was never written succeeds): each failed write is
    // followed by the cleanup of its key, which must not count as a sign of health.
    app.primary.down(['put']);
    for (let i = 0; i < 3; i++) {
      const error = await app.storage.storeArtifact({ ...common, body: oneShot(`lost write ${i}`) }).catch((e) => e);
      expect(error).toBeInstanceOf(ProviderUnavailableError);
      expect(error).not.toBeInstanceOf(CircuitOpenError);
    }
    expect(app.primary.count('put')).toBe(3);
    expect(app.primary.count('delete')).toBeGreaterThanOrEqual(2); // the cleanups ran (and succeeded) between the faults
    expect(app.resilience.state('primary')).toBe('open');
    expect(app.instrumented).toEqual([{ provider: 'primary', state: 'open' }]);
    const artifact = await app.storage.storeArtifact({ ...common, body: oneShot('retried by the client') });
    expect(artifact.provider).toBe('fallback');
    expect(app.primary.count('put')).toBe(3);
    expect(await holds(app.fallback, artifact.storageKey)).toBe(true);
  });

  it("counts a cleanup's faults against the provider, but never makes a cleanup the half-open test call", async () => {
    app = await startResilienceApp({ resilience: { circuitBreaker: { consecutiveFailures: 2, halfOpenAfterMs: 60_000 } } });
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() }); // after boot: TypeORM checks column types against Date
    // One write fault, then its cleanup fails too (not a transient fault: no retry): two faults in a row.
    app.primary.failNext(1, ['put']).down(['delete'], () => new Error('disk gone (injected)'));
    await expect(app.storage.storeArtifact({ ...common, body: oneShot('half written') })).rejects.toBeInstanceOf(ProviderUnavailableError);
    expect(app.resilience.state('primary')).toBe('open');
    app.primary.heal();
    vi.setSystemTime(Date.now() + 61_000);
    // Due for a test call: a cleanup is refused rather than allowed to close the breaker by succeeding.
    const deletes = app.primary.count('delete');
    const cleanup = app.resilience.call('primary', 'delete', () => app.primary.delete('some/key'), { idempotent: true, cleanup: true });
    await expect(cleanup).rejects.toBeInstanceOf(CircuitOpenError);
    expect(app.primary.count('delete')).toBe(deletes);
    expect(app.transitions.map((t) => t.state)).toEqual(['open']);
    // A real call is the test, and closes it.
    const artifact = await app.storage.storeArtifact({ ...common, body: oneShot('back on primary') });
    expect(artifact.provider).toBe('primary');
    expect(app.transitions.map((t) => t.state)).toEqual(['open', 'half_open', 'closed']);
  });

  it('half-opens after half_open_after_ms, and one successful call closes the breaker again', async () => {
    app = await startResilienceApp();
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() }); // after boot: TypeORM checks column types against Date
    app.primary.down(['put']);
    await app.storage.storeArtifact({ ...common, body: Buffer.from('x') });
    expect(app.resilience.state('primary')).toBe('open');
    vi.setSystemTime(Date.now() + 59_000);
    expect(app.resilience.isAvailable('primary')).toBe(false);
    app.primary.heal();
    vi.setSystemTime(Date.now() + 2_000);
    expect(app.resilience.isAvailable('primary')).toBe(true);
    const artifact = await app.storage.storeArtifact({ ...common, body: oneShot('back on primary') });
    expect(artifact.provider).toBe('primary');
    expect(app.resilience.state('primary')).toBe('closed');
    expect(app.transitions.map((t) => t.state)).toEqual(['open', 'half_open', 'closed']);
    expect(app.instrumented.map((t) => t.state)).toEqual(['open', 'half_open', 'closed']);
  });

  it('a failed half-open test opens the breaker again', async () => {
    app = await startResilienceApp();
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() }); // after boot: TypeORM checks column types against Date
    app.primary.down(['put']);
    await app.storage.storeArtifact({ ...common, body: Buffer.from('x') });
    vi.setSystemTime(Date.now() + 61_000);
    const artifact = await app.storage.storeArtifact({ ...common, body: Buffer.from('y') });
    expect(artifact.provider).toBe('fallback');
    expect(app.transitions.map((t) => t.state)).toEqual(['open', 'half_open', 'open']);
  });

  it("never counts the caller's mistakes against the provider, nor moves them to a fallback", async () => {
    app = await startResilienceApp({ resilience: { circuitBreaker: { consecutiveFailures: 1 } } });
    const error = await app.storage.storeArtifact({ ...common, body: Buffer.from('abc'), sha256: sha('other') }).catch((e) => e);
    expect(error).toBeInstanceOf(ChecksumMismatchError);
    expect(app.resilience.state('primary')).toBe('closed');
    expect(app.primary.count('put')).toBe(1);
    expect(app.fallback.count('put')).toBe(0);
    await expect(app.storage.openArtifact('0190aaaa-0000-7000-8000-000000000000')).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
    expect(app.resilience.state('primary')).toBe('closed');
  });

  it('sends a write to the fallback when the routed provider is full', async () => {
    app = await startResilienceApp({
      providers: {
        primary: { type: 'faulty', config: { inner: 'memory', inner_config: { max_total_bytes: 4 } }, fallbacks: ['fallback'] },
        fallback: { type: 'faulty', config: { inner: 'memory' } },
      },
    });
    const artifact = await app.storage.storeArtifact({ ...common, body: Buffer.from('too big for primary') });
    expect(artifact.provider).toBe('fallback');
    expect(app.primary.count('put')).toBe(1); // InsufficientStorage is not transient: no retry
  });

  it('reports the first fault when every provider of the chain fails', async () => {
    app = await startResilienceApp({ resilience: { circuitBreaker: { consecutiveFailures: 10 } } });
    app.primary.down(['put'], () => new InsufficientStorageError('primary full'));
    app.fallback.down(['put']);
    const error = await app.storage.storeArtifact({ ...common, artifactId: 'nowhere1', body: Buffer.from('nowhere to go') }).catch((e) => e);
    expect(error).toBeInstanceOf(InsufficientStorageError);
    expect(await app.registry.findById('nowhere1')).toBeNull();
  });

  it('times out an upload whose provider stops taking bytes (write_idle_ms) and a read that never opens (read_ms)', async () => {
    app = await startResilienceApp();
    app.primary.hang(1, ['put']);
    const error = await app.storage.storeArtifact({ ...common, artifactId: 'hung1', body: oneShot('never taken') }).catch((e) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.status).toBe(504);
    expect(await app.registry.findById('hung1')).toBeNull();

    const stored = await app.storage.storeArtifact({ ...common, body: Buffer.from('readable') });
    app.primary.hang(Number.POSITIVE_INFINITY, ['get']);
    await expect(app.storage.openArtifact(stored.id)).rejects.toBeInstanceOf(TimeoutError);
    expect(app.primary.count('get')).toBe(3); // an idempotent read is retried before giving up
    app.primary.heal();
  });

  it('retries an idempotent read and delete through transient faults', async () => {
    app = await startResilienceApp();
    const stored = await app.storage.storeArtifact({ ...common, body: Buffer.from('read me') });
    app.primary.failNext(2, ['get', 'delete']);
    const { body } = await app.storage.openArtifact(stored.id);
    expect((await readAll(body)).toString()).toBe('read me');
    app.primary.failNext(2, ['delete']);
    await app.storage.deleteArtifact(stored.id);
    expect(await holds(app.primary, stored.storageKey)).toBe(false);
  });

  it('verify_on_read: a corrupted object is a CorruptionError and an E_CORRUPTION event, never a silent body', async () => {
    app = await startResilienceApp();
    const stored = await app.storage.storeArtifact({ ...common, body: Buffer.from('pristine bytes!!') });
    await writeFile(`${app.dir}/primary/${stored.storageKey}`, 'tampered bytes!!'); // same length, other bytes
    const { body } = await app.storage.openArtifact(stored.id);
    const received: Buffer[] = [];
    const error = await (async () => {
      for await (const chunk of body) received.push(chunk as Buffer);
    })().catch((e) => e);
    expect(error).toBeInstanceOf(CorruptionError);
    expect(Buffer.concat(received).length).toBeLessThan(16); // the last chunk is withheld
    expect(app.events).toContainEqual(expect.objectContaining({ operation: 'read', outcome: 'error', errorCode: 'E_CORRUPTION', artifactId: stored.id }));
    // A read of the intact object passes the check.
    const fine = await app.storage.storeArtifact({ ...common, body: Buffer.from('intact') });
    expect((await readAll((await app.storage.openArtifact(fine.id)).body)).toString()).toBe('intact');
  });

  it('starts a direct upload on the fallback while the routed provider\'s breaker is open', async () => {
    app = await startResilienceApp();
    const release = app.resilience.isolate('primary');
    const upload = await app.storage.createUpload({ ...common, size: 5 });
    expect(upload.artifact.provider).toBe('fallback');
    expect(app.primary.count('presign')).toBe(0);
    release();
    expect((await app.storage.createUpload({ ...common, size: 5 })).artifact.provider).toBe('primary');
  });

  it('refuses a provider whose breaker is held open (isolate), as a 503', async () => {
    app = await startResilienceApp({ providers: { primary: { type: 'faulty', config: { inner: 'memory' } } } });
    const release = app.resilience.isolate('primary');
    const error = await app.storage.storeArtifact({ ...common, body: Buffer.from('x') }).catch((e) => e);
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect(error.status).toBe(503);
    release();
    expect((await app.storage.storeArtifact({ ...common, body: Buffer.from('x') })).provider).toBe('primary');
  });
});

describe('resilience configuration', () => {
  const yaml = `
storage:
  default_provider: s3
  providers:
    s3:
      type: memory
      fallbacks: [local]
      resilience:
        timeouts: { read_ms: 5000, write_idle_ms: 20000 }
        circuit_breaker: { consecutive_failures: 2 }
        retry: { max_attempts: 5 }
    local:
      type: memory
  verify_on_read: true
  retry: { max_attempts: 4, initial_delay_ms: 50 }
  resilience:
    timeouts: { head_ms: 1234 }
    circuit_breaker: { half_open_after_ms: 9000, failure_rate: 0.5, sampling_window_ms: 10000, minimum_rps: 2 }
`;

  it('reads snake_case YAML: top-level defaults, per-provider overrides, verify_on_read', async () => {
    const options = resolveStorageOptions(parseStorageConfig(yaml, {}));
    expect(options.verifyOnRead).toBe(true);
    const { StorageResilience, StorageInstrumentation } = await import('@app/storage');
    const resilience = new StorageResilience(options, new StorageInstrumentation());
    expect(resilience.settings('s3')).toEqual({
      timeouts: expect.objectContaining({ readMs: 5000, writeIdleMs: 20000, headMs: 1234, writeMs: 0 }),
      circuitBreaker: { consecutiveFailures: 2, halfOpenAfterMs: 9000, failureRate: 0.5, samplingWindowMs: 10000, minimumRps: 2 },
      retry: { maxAttempts: 5, initialDelayMs: 50, maxDelayMs: 5000 },
    });
    expect(resilience.settings('local').retry.maxAttempts).toBe(4);
    expect(resilience.settings('local').timeouts.readMs).toBe(30_000);
  });

  it('names every invalid resilience key by its YAML path', () => {
    const bad = yaml
      .replace('consecutive_failures: 2', 'consecutive_failures: 0')
      .replace('head_ms: 1234', 'head_ms: -1')
      .replace('failure_rate: 0.5', 'failure_rate: 3');
    const error = (() => {
      try {
        parseStorageConfig(bad, {});
      } catch (e) {
        return e as ConfigurationError;
      }
    })();
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error?.problems.join('\n')).toMatch(/providers\.s3\.resilience\.circuit_breaker\.consecutive_failures/);
    expect(error?.problems.join('\n')).toMatch(/resilience\.timeouts\.head_ms/);
    expect(error?.problems.join('\n')).toMatch(/resilience\.circuit_breaker\.failure_rate/);
  });
});
