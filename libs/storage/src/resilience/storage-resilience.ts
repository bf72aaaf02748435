import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import {
  BrokenCircuitError,
  CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  SamplingBreaker,
  TaskCancelledError,
  TimeoutStrategy,
  circuitBreaker,
  handleWhen,
  isBrokenCircuitError,
  isIsolatedCircuitError,
  retry,
  timeout,
  type RetryPolicy,
  type TimeoutPolicy,
} from 'cockatiel';
import { Observable, Subject } from 'rxjs';
import type { ResolvedStorageOptions } from '../config/index.js';
import { ProviderUnavailableError, StorageError, TimeoutError } from '../errors/index.js';
import { StorageInstrumentation, type BreakerState } from '../service/instrumentation.js';
import { STORAGE_OPTIONS } from '../storage.constants.js';
import { isProviderFault, isTransientFault } from './provider-faults.js';
import { CircuitOpenError } from './resilience.errors.js';
import { providerResilience, type ProviderResilience, type ResilienceOptions } from './resilience.options.js';

/** The operations that get their own time limit. */
export type ResilientOperation = 'read' | 'write' | 'head' | 'delete' | 'list' | 'copy' | 'presign';



/** One transition of a provider's circuit breaker (for metrics, logs, alerts). */
export interface BreakerStateChange {
  provider: string;
  state: BreakerState;
  previous: BreakerState;
  at: Date;
}

/** What one attempt of an operation receives. */
export interface AttemptContext {
  /** Aborted on timeout, idle timeout or the caller's signal; pass it to the provider. */
  signal: AbortSignal;
  /** 0 for the first attempt. */
  attempt: number;
  /** For uploads: a counter of bytes moved; no change for `write_idle_ms` fails the attempt. */
  watchProgress(probe: () => number): void;
}

export interface CallOptions {
  /** Safe to repeat (reads, deletes, replayable uploads): retried on transient faults. */
  idempotent: boolean;
  signal?: AbortSignal;
  /**
   * The cleanup after a failed call (removing what a failed upload may have left). Its faults
   * count against the provider like any other call's, but its success says nothing about the
   * provider's health (deleting what a broken backend never wrote succeeds), so it never resets
   * the breaker's count of faults nor closes it. It runs only while the breaker is closed: it is
   * never the half-open test call.
   */
  cleanup?: boolean;
}

interface ProviderPolicies {
  settings: ProviderResilience;
  breaker: CircuitBreakerPolicy;
  retry: RetryPolicy;
  timeouts: Map<ResilientOperation, TimeoutPolicy | null>;
  openedAt: number;
}

const STATE_NAMES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half_open',
  [CircuitState.Isolated]: 'isolated',
};

const TIMEOUT_KEYS: Record<ResilientOperation, keyof ProviderResilience['timeouts']> = {
  read: 'readMs',
  write: 'writeMs',
  head: 'headMs',
  delete: 'deleteMs',
  list: 'listMs',
  copy: 'copyMs',
  presign: 'presignMs',
};

/**
 * Timeouts, retries and one circuit breaker per provider, all with cockatiel. Every call into a
 * provider from StorageService and the sweeper goes through `call`. Layers, outermost first:
 * retry (idempotent calls only, jittered exponential backoff) > breaker > time limit.
 * Breaker transitions go to StorageInstrumentation.breakerStateChanged (logs, metrics) and to
 * `breakerStateChanges`.
 */
@Injectable()
export class StorageResilience implements OnApplicationBootstrap {
  private readonly policies = new Map<string, ProviderPolicies>();
  private readonly changes = new Subject<BreakerStateChange>();

  /** Every breaker transition, as it happens. */
  readonly breakerStateChanges: Observable<BreakerStateChange> = this.changes.asObservable();

  constructor(
    @Inject(STORAGE_OPTIONS) private readonly options: ResolvedStorageOptions,
    private readonly instrumentation: StorageInstrumentation,
  ) {}

  /** Reports every configured provider's breaker state once, for gauges to start from. */
  onApplicationBootstrap(): void {
    for (const [provider, state] of Object.entries(this.states())) this.instrumentation.breakerStateKnown(provider, state);
  }

  /** The effective settings of a provider (defaults, top-level blocks and its own overrides merged). */
  settings(provider: string): ProviderResilience {
    return this.policiesOf(provider).settings;
  }

  state(provider: string): BreakerState {
    return STATE_NAMES[this.policiesOf(provider).breaker.state];
  }

  /** The breaker state of every configured provider (for a gauge's initial values). */
  states(): Record<string, BreakerState> {
    return Object.fromEntries(Object.keys(this.options.providers).map((name) => [name, this.state(name)]));
  }

  /**
   * False while the provider's breaker refuses calls (open and not yet due for a test call, or
   * isolated). A write then goes straight to a fallback without touching the body.
   */
  isAvailable(provider: string): boolean {
    const policies = this.policiesOf(provider);
    const state = policies.breaker.state;
    if (state === CircuitState.Isolated) return false;
    if (state !== CircuitState.Open) return true;
    return Date.now() - policies.openedAt >= policies.settings.circuitBreaker.halfOpenAfterMs;
  }

  /** Subscribes to breaker transitions; returns the unsubscribe function. */
  onBreakerStateChange(listener: (change: BreakerStateChange) => void): () => void {
    const subscription = this.breakerStateChanges.subscribe(listener);
    return () => subscription.unsubscribe();
  }

  /** Holds a provider's breaker open until the returned function is called (maintenance). */
  isolate(provider: string): () => void {
    const handle = this.policiesOf(provider).breaker.isolate();
    return () => handle.dispose();
  }

  /**
   * Runs one provider operation under its time limit and breaker, retrying transient faults
   * when the operation is idempotent. Faults that are not typed storage errors come out as
   * ProviderUnavailableError (503) with the original as `cause`.
   */
  async call<T>(
    provider: string,
    operation: ResilientOperation,
    run: (context: AttemptContext) => Promise<T>,
    options: CallOptions,
  ): Promise<T> {
    const policies = this.policiesOf(provider);
    const attemptOnce = async (attempt: number, signal: AbortSignal | undefined): Promise<T> => {
      try {
        const timed = () => this.timed(policies, operation, attempt, signal, options.signal, run);
        if (options.cleanup) return await this.cleanupAttempt(policies, timed);
        return await policies.breaker.execute(timed, signal);
      } catch (error) {
        if (isBrokenCircuitError(error) || isIsolatedCircuitError(error)) throw new CircuitOpenError(provider, { cause: error });
        throw error;
      }
    };
    try {
      if (!options.idempotent || policies.settings.retry.maxAttempts <= 1) return await attemptOnce(0, options.signal);
      return await policies.retry.execute(({ attempt, signal }) => attemptOnce(attempt, signal), options.signal);
    } catch (error) {
      if (error instanceof StorageError || !isProviderFault(error)) throw error;
      throw new ProviderUnavailableError(`Storage provider "${provider}" failed during ${operation}`, {
        cause: error,
        details: { provider, operation },
      });
    }
  }

  /**
   * One attempt of a cleanup: under its time limit, beside the breaker rather than through it, so
   * that a success is not recorded; a fault is then handed to the breaker, which counts it (or
   * not) exactly as it would have counted it in `execute`.
   */
  private async cleanupAttempt<T>(policies: ProviderPolicies, attempt: () => Promise<T>): Promise<T> {
    if (policies.breaker.state !== CircuitState.Closed) throw new BrokenCircuitError();
    try {
      return await attempt();
    } catch (error) {
      // Only a closed breaker counts it: an open or half-open one already has its verdict or test.
      if (policies.breaker.state === CircuitState.Closed) {
        await policies.breaker.execute(() => Promise.reject(error)).catch(() => undefined);
      }
      throw error;
    }
  }

  /** One attempt: the operation's total limit (cockatiel) and, for uploads, the idle watchdog. */
  private async timed<T>(
    policies: ProviderPolicies,
    operation: ResilientOperation,
    attempt: number,
    outer: AbortSignal | undefined,
    caller: AbortSignal | undefined,
    run: (context: AttemptContext) => Promise<T>,
  ): Promise<T> {
    const idle = new AbortController();
    let watchdog: NodeJS.Timeout | undefined;
    const idleMs = policies.settings.timeouts.writeIdleMs;
    const stalled = new Promise<never>((_resolve, reject) => {
      idle.signal.addEventListener('abort', () => reject(idle.signal.reason), { once: true });
    });
    stalled.catch(() => undefined);
    const watchProgress = (probe: () => number) => {
      if (operation !== 'write' || idleMs <= 0 || watchdog) return;
      let last = probe();
      let lastChange = Date.now();
      watchdog = setInterval(() => {
        const now = probe();
        if (now !== last) {
          last = now;
          lastChange = Date.now();
        } else if (Date.now() - lastChange >= idleMs) {
          idle.abort(new TimeoutError(`Upload made no progress for ${idleMs} ms`, { details: { operation, idleMs } }));
        }
      }, Math.max(10, Math.min(1000, Math.floor(idleMs / 4))));
      watchdog.unref();
    };
    const attemptRun = (signal: AbortSignal) => {
      // The caller's own signal too: cockatiel unlinks it from `signal` once the call returns,
      // and a read stream must still stop when its caller goes away.
      const combined = AbortSignal.any(caller ? [signal, idle.signal, caller] : [signal, idle.signal]);
      const running = run({ signal: combined, attempt, watchProgress });
      running.catch(() => undefined); // a hung call may settle after we gave up on it
      return Promise.race([running, stalled]);
    };
    const limit = this.timeoutPolicy(policies, operation);
    try {
      if (!limit) return await attemptRun(outer ?? new AbortController().signal);
      return await limit.execute(({ signal }) => attemptRun(signal), outer);
    } catch (error) {
      if (error instanceof TaskCancelledError && !outer?.aborted) {
        const ms = policies.settings.timeouts[TIMEOUT_KEYS[operation]];
        throw new TimeoutError(`Storage ${operation} took longer than ${ms} ms`, { cause: error, details: { operation, timeoutMs: ms } });
      }
      throw error;
    } finally {
      if (watchdog) clearInterval(watchdog);
    }
  }

  private timeoutPolicy(policies: ProviderPolicies, operation: ResilientOperation): TimeoutPolicy | null {
    if (!policies.timeouts.has(operation)) {
      const ms = policies.settings.timeouts[TIMEOUT_KEYS[operation]];
      // abortOnReturn: false keeps a returned read stream alive after the open succeeded.
      policies.timeouts.set(operation, ms > 0 ? timeout(ms, { strategy: TimeoutStrategy.Aggressive, abortOnReturn: false }) : null);
    }
    return policies.timeouts.get(operation)!;
  }

  private policiesOf(provider: string): ProviderPolicies {
    const existing = this.policies.get(provider);
    if (existing) return existing;
    const definition = this.options.providers[provider] as { resilience?: ResilienceOptions } | undefined;
    const settings = providerResilience({
      retry: this.options.retry,
      global: (this.options as { resilience?: ResilienceOptions }).resilience,
      provider: definition?.resilience,
    });
    const cb = settings.circuitBreaker;
    const breaker = circuitBreaker(handleWhen(isProviderFault), {
      halfOpenAfter: cb.halfOpenAfterMs,
      breaker:
        cb.failureRate !== undefined
          ? new SamplingBreaker({ threshold: cb.failureRate, duration: cb.samplingWindowMs, minimumRps: cb.minimumRps })
          : new ConsecutiveBreaker(cb.consecutiveFailures),
    });
    const policies: ProviderPolicies = {
      settings,
      breaker,
      retry: retry(handleWhen(isTransientFault), {
        maxAttempts: Math.max(0, settings.retry.maxAttempts - 1),
        backoff: new ExponentialBackoff({ initialDelay: settings.retry.initialDelayMs, maxDelay: settings.retry.maxDelayMs }),
      }),
      timeouts: new Map(),
      openedAt: 0,
    };
    let previous: BreakerState = 'closed';
    breaker.onBreak(() => {
      policies.openedAt = Date.now();
    });
    breaker.onStateChange((state) => {
      const change: BreakerStateChange = { provider, state: STATE_NAMES[state], previous, at: new Date() };
      previous = change.state;
      // The instrumentation logs it and (with the metrics module) sets the breaker gauge.
      this.instrumentation.breakerStateChanged(provider, change.state);
      this.changes.next(change);
    });
    this.policies.set(provider, policies);
    return policies;
  }
}
