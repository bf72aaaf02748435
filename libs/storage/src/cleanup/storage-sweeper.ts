import { Logger } from '@nestjs/common';
import type { ResolvedStorageOptions } from '../config/index.js';
import { ObjectNotFoundError } from '../errors/index.js';
import type { StorageProviderRegistry } from '../providers/storage-provider.registry.js';
import type { StoredArtifact } from '../registry/index.js';
import type { StorageResilience } from '../resilience/storage-resilience.js';
import type { StorageInstrumentation } from '../service/instrumentation.js';
import { CleanupQueries } from './cleanup.queries.js';
import { isServiceKey } from '../keys/index.js';

export { isServiceKey };

/** What one sweep did. Ids and keys are listed so operators (and tests) can see exactly what went. */
export interface SweepResult {
  /** Temporary artifacts past their TTL, marked deleted (their bytes go in the same sweep). */
  expired: string[];
  /** Deleted records whose bytes are now gone, removed from the registry. */
  purged: string[];
  /** Uploads left pending past `pending_timeout_minutes`, removed with any bytes they wrote. */
  abandoned: string[];
  /** Objects with no record, older than `orphan_grace_hours`, removed. */
  orphans: { provider: string; key: string }[];
  /** Bytes that could not be removed now; their records stay, and the next sweep retries. */
  failed: { provider: string; key: string; code: string }[];
}


export interface SweeperDeps {
  options: ResolvedStorageOptions;
  providers: StorageProviderRegistry;
  resilience: StorageResilience;
  instrumentation: StorageInstrumentation;
  queries: CleanupQueries;
}

/**
 * One pass over the registry and the providers. Every step is idempotent: records are claimed
 * (SKIP LOCKED on PostgreSQL) and re-checked by each statement, and deleting a missing object
 * counts as deleted, so a repeated or concurrent pass removes nothing twice and loses nothing.
 */
export class StorageSweeper {
  private readonly logger = new Logger('StorageCleanup');

  constructor(private readonly deps: SweeperDeps) {}

  private get cleanup() {
    return this.deps.options.cleanup;
  }

  async run(now: Date = new Date()): Promise<SweepResult> {
    const result: SweepResult = { expired: [], purged: [], abandoned: [], orphans: [], failed: [] };
    await this.expireTemporary(now, result);
    await this.purgeDeleted(result);
    await this.removeAbandoned(now, result);
    await this.removeOrphans(now, result);
    return result;
  }

  /** Runs `handle` over every claimable batch, paging by id so a failing row is met once per sweep. */
  private async batches(
    where: { status: StoredArtifact['status']; column?: 'expiresAt' | 'updatedAt'; before?: Date },
    handle: Parameters<CleanupQueries['claim']>[2],
  ): Promise<void> {
    const size = this.cleanup.maxCleanupBatchSize;
    let afterId: string | undefined;
    for (;;) {
      const rows = await this.deps.queries.claim({ ...where, afterId }, size, handle);
      if (rows.length < size) return;
      afterId = rows[rows.length - 1].id;
    }
  }

  private async expireTemporary(now: Date, result: SweepResult): Promise<void> {
    await this.batches({ status: 'ready', column: 'expiresAt', before: now }, async (rows, manager) => {
      await this.deps.queries.markDeleted(manager, rows.map((row) => row.id), now);
      result.expired.push(...rows.map((row) => row.id));
    });
  }

  private async purgeDeleted(result: SweepResult): Promise<void> {
    await this.batches({ status: 'deleted' }, async (rows, manager) => {
      const gone: string[] = [];
      for (const row of rows) {
        if (await this.removeObject(row.provider, row.storageKey, result, row.id)) gone.push(row.id);
      }
      await this.deps.queries.removeDeleted(manager, gone);
      result.purged.push(...gone);
    });
  }

  /**
   * A pending row younger than the deadline protects its key; StorageService keeps the rows of
   * running uploads fresh, so only uploads whose process died get here. The row goes first (if
   * still stale), then the bytes: an upload that wakes up later finds no row and discards itself.
   * A direct (presigned) upload has no heartbeat, and its URL is checked only when the PUT
   * starts: its row is spared for the lifetime of an upload URL, then the pending timeout (a PUT
   * that starts just before its URL expires still has that long to stream).
   */
  private async removeAbandoned(now: Date, result: SweepResult): Promise<void> {
    const deadlineMs = this.cleanup.pendingTimeoutMinutes * 60_000 + this.deps.options.signedUrls.expiresInSeconds * 1000;
    const before = new Date(now.getTime() - deadlineMs);
    await this.batches({ status: 'pending', column: 'updatedAt', before }, async (rows, manager) => {
      for (const row of rows) {
        if (!(await this.deps.queries.removeStalePending(manager, row.id, before))) continue;
        result.abandoned.push(row.id);
        // Bytes that cannot go now have no record any more: the orphan scan takes them after the grace period.
        await this.removeObject(row.provider, row.storageKey, result, row.id);
      }
    });
  }

  /** Objects no record names (crashed uploads), per provider that can list, past the grace period. */
  private async removeOrphans(now: Date, result: SweepResult): Promise<void> {
    const cutoff = now.getTime() - this.cleanup.orphanGraceHours * 3600_000;
    const size = Math.min(this.cleanup.maxCleanupBatchSize, 1000);
    for (const [name, provider] of this.deps.providers.entries()) {
      if (provider.capabilities.list !== true) continue;
      if (!this.deps.resilience.isAvailable(name)) {
        this.logger.warn('orphan scan skipped: provider unavailable', { provider: name });
        continue;
      }
      let cursor: string | undefined;
      let removed = 0;
      try {
        do {
          const page = await this.deps.resilience.call(name, 'list', () => provider.list({ prefix: '', cursor, limit: size }), { idempotent: true });
          const candidates = page.items.filter((item) => isServiceKey(item.key) && item.lastModified.getTime() < cutoff);
          const recorded = await this.deps.queries.recordedKeys(candidates.map((item) => item.key));
          for (const item of candidates) {
            if (recorded.has(item.key)) continue;
            if (await this.removeObject(name, item.key, result)) {
              result.orphans.push({ provider: name, key: item.key });
              removed++;
            }
          }
          cursor = page.cursor;
        } while (cursor && removed < this.cleanup.maxCleanupBatchSize);
      } catch (error) {
        this.logger.warn('orphan scan stopped', { provider: name, code: (error as { code?: string }).code ?? 'E_UNKNOWN' });
      }
    }
  }

  /** Deletes one object; true when it is gone (a missing object counts as deleted). */
  private async removeObject(providerName: string, key: string, result: SweepResult, artifactId?: string): Promise<boolean> {
    try {
      await this.deps.instrumentation.track({ operation: 'cleanup', provider: providerName, artifactId }, async () => {
        const provider = this.deps.providers.get(providerName);
        await this.deps.resilience.call(providerName, 'delete', () => provider.delete(key), { idempotent: true });
      });
      return true;
    } catch (error) {
      if (error instanceof ObjectNotFoundError) return true;
      const code = (error as { code?: string }).code ?? 'E_UNKNOWN';
      result.failed.push({ provider: providerName, key, code });
      return false;
    }
  }
}
