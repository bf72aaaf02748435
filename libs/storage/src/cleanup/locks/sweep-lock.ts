/** A held lock; `release` is safe to call more than once. */
export interface SweepLockHandle {
  release(): Promise<void>;
}

/**
 * Elects one sweeper among replicas. `tryAcquire` never waits: it returns null when another
 * instance holds the lock, and that instance's sweep simply runs instead of this one.
 */
export interface SweepLock {
  /** `advisory`, `lease`, `redis` or `none` (for logs and reports). */
  readonly kind: string;
  tryAcquire(): Promise<SweepLockHandle | null>;
  /** Releases connections the lock holds open. */
  close?(): Promise<void>;
}

/** Every instance sweeps (a single instance, or tests of the sweep's own idempotency). */
export class NoSweepLock implements SweepLock {
  readonly kind = 'none';

  async tryAcquire(): Promise<SweepLockHandle> {
    return { release: async () => {} };
  }
}

/** Runs `renew` every `everyMs` until stopped; errors are reported, never thrown. */
export function renewEvery(everyMs: number, renew: () => Promise<void>, onError: (error: unknown) => void): () => void {
  const timer = setInterval(() => {
    renew().catch(onError);
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
