import { Readable } from 'node:stream';
import type { TestingModule } from '@nestjs/testing';
import {
  ArtifactRegistry,
  StorageInstrumentation,
  StorageModule,
  StorageResilience,
  StorageService,
  getStorageProviderToken,
  type BreakerState,
  type BreakerStateChange,
  type OperationEvent,
  type StorageModuleOptions,
} from '@app/storage';
import { FaultyStorageProvider } from '../support/faulty-provider.js';
import { createStorageTestingModule } from '../support/storage-app.js';
import { tempDir } from '../support/temp-dir.js';

export interface ResilienceApp {
  moduleRef: TestingModule;
  storage: StorageService;
  resilience: StorageResilience;
  registry: ArtifactRegistry;
  primary: FaultyStorageProvider;
  fallback: FaultyStorageProvider;
  /** Every breaker transition seen through StorageResilience.breakerStateChanges. */
  transitions: BreakerStateChange[];
  /** Every breaker state the instrumentation was told about (what the metrics module sees). */
  instrumented: { provider: string; state: BreakerState }[];
  /** Every operation event. */
  events: OperationEvent[];
  dir: string;
  close: () => Promise<void>;
}

/**
 * StorageService over two `faulty` providers (each wrapping a local folder): `primary`, whose
 * fallback is `fallback`. Fast retries, a breaker that opens after 3 faults, short timeouts,
 * verify_on_read on. `overrides` replace top-level options.
 */
export async function startResilienceApp(overrides: Partial<StorageModuleOptions> = {}): Promise<ResilienceApp> {
  const dir = await tempDir('boards-resilience-');
  const options: StorageModuleOptions = {
    defaultProvider: 'primary',
    providers: {
      primary: { type: 'faulty', config: { inner: 'local', inner_config: { base_path: `${dir.path}/primary` } }, fallbacks: ['fallback'] },
      fallback: { type: 'faulty', config: { inner: 'local', inner_config: { base_path: `${dir.path}/fallback` } } },
    },
    retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 5 },
    resilience: {
      timeouts: { writeIdleMs: 400, readMs: 400, deleteMs: 400, headMs: 400 },
      circuitBreaker: { consecutiveFailures: 3, halfOpenAfterMs: 60_000 },
    },
    verifyOnRead: true,
    ...overrides,
  };
  const moduleRef = await createStorageTestingModule(
    `sqlite:${dir.path}/registry.sqlite`,
    StorageModule.forRoot({ ...options, providerTypes: [FaultyStorageProvider], route: false }),
  );
  const resilience = moduleRef.get(StorageResilience);
  const instrumentation = moduleRef.get(StorageInstrumentation);
  const transitions: BreakerStateChange[] = [];
  const instrumented: { provider: string; state: BreakerState }[] = [];
  const events: OperationEvent[] = [];
  const unsubscribe = resilience.onBreakerStateChange((change) => transitions.push(change));
  const breakerStateChanged = instrumentation.breakerStateChanged.bind(instrumentation);
  instrumentation.breakerStateChanged = (provider, state) => {
    instrumented.push({ provider, state });
    breakerStateChanged(provider, state);
  };
  const operation = instrumentation.operation.bind(instrumentation);
  instrumentation.operation = (event) => {
    events.push(event);
    operation(event);
  };
  return {
    moduleRef,
    storage: moduleRef.get(StorageService),
    resilience,
    registry: moduleRef.get(ArtifactRegistry),
    primary: moduleRef.get(getStorageProviderToken('primary')),
    fallback: 'fallback' in options.providers ? moduleRef.get(getStorageProviderToken('fallback')) : undefined!,
    transitions,
    instrumented,
    events,
    dir: dir.path,
    close: async () => {
      unsubscribe();
      await moduleRef.close();
      await dir.remove();
    },
  };
}

/** A one-shot stream body (not replayable), in a few chunks. */
export function oneShot(text: string): Readable {
  const bytes = Buffer.from(text);
  const chunks = [bytes.subarray(0, Math.ceil(bytes.length / 2)), bytes.subarray(Math.ceil(bytes.length / 2))];
  return Readable.from(chunks, { objectMode: false });
}

/** Whether a provider holds an object under `key` (asked of the wrapped provider, past any fault). */
export function holds(provider: FaultyStorageProvider, key: string): Promise<boolean> {
  return provider.inner.exists(key);
}
