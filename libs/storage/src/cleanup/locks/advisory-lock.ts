import { createHash } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { SweepLock, SweepLockHandle } from './sweep-lock.js';

/** A stable signed 64-bit key for pg_advisory_lock, derived from the lock's name. */
export function advisoryKey(name: string): string {
  return createHash('sha256').update(name).digest().readBigInt64BE(0).toString();
}

/**
 * A PostgreSQL session advisory lock (`pg_try_advisory_lock`) on a connection held for the
 * sweep. If the process dies, PostgreSQL drops the connection and the lock with it: no expiry
 * to tune and no stale holder.
 */
export class AdvisorySweepLock implements SweepLock {
  readonly kind = 'advisory';
  private readonly key: string;

  constructor(
    private readonly dataSource: DataSource,
    name: string,
  ) {
    this.key = advisoryKey(name);
  }

  async tryAcquire(): Promise<SweepLockHandle | null> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      const [row] = (await runner.query('SELECT pg_try_advisory_lock($1::bigint) AS locked', [this.key])) as { locked: boolean }[];
      if (!row?.locked) {
        await runner.release();
        return null;
      }
    } catch (error) {
      await runner.release();
      throw error;
    }
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        try {
          // Unlock before the connection goes back to the pool, or the pooled session keeps it.
          await runner.query('SELECT pg_advisory_unlock($1::bigint)', [this.key]);
        } finally {
          await runner.release();
        }
      },
    };
  }
}
