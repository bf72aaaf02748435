import { In, LessThan, type DataSource, type EntityManager } from 'typeorm';
import { StoredArtifact, type ArtifactStatus } from '../registry/index.js';

/** What a batch handler decides for each claimed row. */
export type ClaimWork = (rows: StoredArtifact[], manager: EntityManager) => Promise<void>;

/**
 * The sweeper's queries on `storage_artifacts`. On PostgreSQL each batch is claimed with
 * `FOR UPDATE SKIP LOCKED` inside a transaction that lasts while the batch is handled, so two
 * sweepers (should the lock ever be bypassed) never take the same row. Elsewhere the lock is
 * the only guard, and every statement re-checks the row's state, so a repeat changes nothing.
 */
export class CleanupQueries {
  constructor(private readonly dataSource: DataSource) {}

  private get postgres(): boolean {
    return this.dataSource.options.type === 'postgres';
  }

  /** Claims up to `limit` rows in `status` whose `column` is before `before`, oldest id first. */
  async claim(
    where: { status: ArtifactStatus; column?: 'expiresAt' | 'updatedAt'; before?: Date; afterId?: string },
    limit: number,
    work: ClaimWork,
  ): Promise<StoredArtifact[]> {
    const select = (manager: EntityManager) => {
      const builder = manager
        .getRepository(StoredArtifact)
        .createQueryBuilder('a')
        .where('a.status = :status', { status: where.status })
        .orderBy('a.id', 'ASC')
        .limit(limit);
      // Keyset paging: rows that failed in this sweep are not claimed again until the next one.
      if (where.afterId) builder.andWhere('a.id > :afterId', { afterId: where.afterId });
      if (where.column && where.before) {
        const column = where.column === 'expiresAt' ? 'a.expires_at' : 'a.updated_at';
        builder.andWhere(`${column} < :before`, { before: where.before });
      }
      if (this.postgres) builder.setLock('pessimistic_write').setOnLocked('skip_locked');
      return builder.getMany();
    };
    if (this.postgres) {
      return this.dataSource.transaction(async (manager) => {
        const rows = await select(manager);
        if (rows.length) await work(rows, manager);
        return rows;
      });
    }
    // SQLite has one connection per data source: no transaction may span provider calls.
    const rows = await select(this.dataSource.manager);
    if (rows.length) await work(rows, this.dataSource.manager);
    return rows;
  }

  /** ready -> deleted for the given rows that are still ready. */
  async markDeleted(manager: EntityManager, ids: string[], now: Date): Promise<void> {
    if (!ids.length) return;
    await manager.getRepository(StoredArtifact).update({ id: In(ids), status: 'ready' }, { status: 'deleted', updatedAt: now });
  }

  /** Removes deleted rows whose bytes are gone. */
  async removeDeleted(manager: EntityManager, ids: string[]): Promise<void> {
    if (!ids.length) return;
    await manager.getRepository(StoredArtifact).delete({ id: In(ids), status: 'deleted' });
  }

  /** Removes one pending row if it is still stale; true when this call removed it. */
  async removeStalePending(manager: EntityManager, id: string, before: Date): Promise<boolean> {
    const result = await manager.getRepository(StoredArtifact).delete({ id, status: 'pending', updatedAt: LessThan(before) });
    return Boolean(result.affected);
  }

  /**
   * Which of `keys` have a record (in any state), under any provider name: two configured
   * providers may share a root or a bucket, and an object recorded under one is no orphan of the
   * other.
   */
  async recordedKeys(keys: string[]): Promise<Set<string>> {
    if (!keys.length) return new Set();
    const rows = await this.dataSource.getRepository(StoredArtifact).find({ select: { storageKey: true }, where: { storageKey: In(keys) } });
    return new Set(rows.map((row) => row.storageKey));
  }
}
