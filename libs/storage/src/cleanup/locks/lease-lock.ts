import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { StorageLease } from './storage-lease.entity.js';
import { renewEvery, type SweepLock, type SweepLockHandle } from './sweep-lock.js';

function isDuplicateKey(error: unknown): boolean {
  const driverError = (error as { driverError?: { code?: string } })?.driverError ?? (error as { code?: string });
  const code = String(driverError?.code ?? '');
  return code === '23505' || code.startsWith('SQLITE_CONSTRAINT') || code === 'ER_DUP_ENTRY';
}

/**
 * A lease row in `storage_leases`: taken by inserting it, or by updating it once it expired;
 * renewed while the sweep runs; deleted on release. A holder that dies stops renewing and its
 * lease lapses after `ttlMs`. Works on any SQL database TypeORM supports.
 */
export class LeaseSweepLock implements SweepLock {
  readonly kind = 'lease';
  private readonly logger = new Logger('StorageCleanupLease');

  constructor(
    private readonly dataSource: DataSource,
    private readonly name: string,
    private readonly ttlMs: number,
    readonly holder: string = randomUUID(),
  ) {}

  private get repository() {
    return this.dataSource.getRepository(StorageLease);
  }

  async tryAcquire(): Promise<SweepLockHandle | null> {
    const now = new Date();
    const expiresAt = new Date(now.getTime() + this.ttlMs);
    // Take over an expired lease (or our own, left by an earlier run of this process).
    const taken = await this.repository
      .createQueryBuilder()
      .update(StorageLease)
      .set({ holder: this.holder, acquiredAt: now, expiresAt })
      .where('name = :name AND (expires_at < :now OR holder = :holder)', { name: this.name, now, holder: this.holder })
      .execute();
    if (!taken.affected) {
      try {
        await this.repository.insert({ name: this.name, holder: this.holder, acquiredAt: now, expiresAt });
      } catch (error) {
        if (isDuplicateKey(error)) return null; // held, and not expired
        throw error;
      }
    }
    const stop = renewEvery(
      Math.max(1000, Math.floor(this.ttlMs / 3)),
      async () => {
        const renewed = await this.repository.update(
          { name: this.name, holder: this.holder },
          { expiresAt: new Date(Date.now() + this.ttlMs) },
        );
        if (!renewed.affected) this.logger.warn('cleanup lease lost to another instance', { lease: this.name });
      },
      (error) => this.logger.warn('could not renew the cleanup lease', { lease: this.name, error: String(error) }),
    );
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        stop();
        await this.repository.delete({ name: this.name, holder: this.holder });
      },
    };
  }
}
