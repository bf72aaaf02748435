import { Brackets, In, LessThan, type DataSource, type Repository } from 'typeorm';
import { isArtifactId } from '../keys/index.js';
import { decodeIdCursor, encodeIdCursor } from './id-cursor.js';
import { ArtifactNotReady } from './registry.errors.js';
import { StoredArtifact, type ArtifactStatus } from './artifact.entity.js';

export interface NewArtifact {
  id: string;
  tenant: string;
  boardId: string | null;
  artifactType: string;
  variant: string;
  storageKey: string;
  provider: string;
  contentType: string;
  size?: number | null;
  createdBy?: string | null;
  jobId?: string | null;
  metadata?: Record<string, string> | null;
  expiresAt?: Date | null;
}

export interface ArtifactQuery {
  tenant: string;
  boardId?: string | null;
  artifactType?: string;
  /** Opaque cursor from a previous page. */
  cursor?: string;
  limit?: number;
  status?: ArtifactStatus;
}

export interface ArtifactPage {
  items: StoredArtifact[];
  cursor?: string;
}

/**
 * The artifact registry: one row per artifact, written in an order that never leaves a `ready`
 * row without its bytes (pending row first, bytes next, `ready` last).
 */
export class ArtifactRegistry {
  readonly repository: Repository<StoredArtifact>;

  constructor(readonly dataSource: DataSource) {
    this.repository = dataSource.getRepository(StoredArtifact);
  }

  async createPending(fields: NewArtifact): Promise<StoredArtifact> {
    const now = new Date();
    const row = this.repository.create({
      ...fields,
      size: fields.size ?? null,
      sha256: null,
      status: 'pending',
      jobId: fields.jobId ?? null,
      createdBy: fields.createdBy ?? null,
      metadata: fields.metadata ?? null,
      expiresAt: fields.expiresAt ?? null,
      createdAt: now,
      updatedAt: now,
    });
    return this.repository.save(row);
  }

  /** pending -> ready, once the bytes are stored. Refuses a row that is no longer pending. */
  async markReady(
    id: string,
    facts: { size: number; sha256: string; provider?: string; contentType?: string },
  ): Promise<StoredArtifact> {
    const result = await this.repository.update(
      { id, status: 'pending' },
      { ...facts, status: 'ready', updatedAt: new Date() },
    );
    if (!result.affected) throw new ArtifactNotReady(`Artifact ${id} is not pending`);
    return (await this.findById(id))!;
  }

  /** Removes a row whose upload failed or was abandoned (never a ready row); true if it did. */
  async removePending(id: string): Promise<boolean> {
    const result = await this.repository.delete({ id, status: 'pending' });
    return Boolean(result.affected);
  }

  async markDeleted(id: string): Promise<boolean> {
    const result = await this.repository.update(
      { id, status: In(['ready', 'pending']) },
      { status: 'deleted', updatedAt: new Date() },
    );
    return Boolean(result.affected);
  }

  async findById(id: string): Promise<StoredArtifact | null> {
    // Not an id this registry could hold (a NUL byte or 37 characters would fail the query on PostgreSQL).
    if (!isArtifactId(id)) return null;
    return this.repository.findOneBy({ id });
  }

  /** A page of artifacts, newest first; the cursor is the last id (ids are time-ordered). */
  async list(query: ArtifactQuery): Promise<ArtifactPage> {
    const limit = Math.max(1, Math.min(query.limit ?? 50, 1000));
    const builder = this.repository
      .createQueryBuilder('a')
      .where('a.tenant = :tenant', { tenant: query.tenant })
      .andWhere('a.status = :status', { status: query.status ?? 'ready' });
    if (query.boardId !== undefined) {
      if (query.boardId === null) builder.andWhere('a.board_id IS NULL');
      else builder.andWhere('a.board_id = :boardId', { boardId: query.boardId });
    }
    if (query.artifactType) builder.andWhere('a.artifact_type = :type', { type: query.artifactType });
    if (query.cursor) {
      const after = decodeIdCursor(query.cursor);
      builder.andWhere(new Brackets((b) => b.where('a.id < :after', { after })));
    }
    const rows = await builder.orderBy('a.id', 'DESC').limit(limit + 1).getMany();
    const items = rows.slice(0, limit);
    const last = items.at(-1);
    return { items, cursor: rows.length > limit && last ? encodeIdCursor(last.id) : undefined };
  }

  /** Ready temporary artifacts whose TTL has passed. */
  async findExpired(now: Date, limit: number): Promise<StoredArtifact[]> {
    return this.repository.find({
      where: { status: 'ready', expiresAt: LessThan(now) },
      order: { id: 'ASC' },
      take: limit,
    });
  }

  /** Rows left `pending` since before `before`: uploads that crashed or were abandoned. */
  async findStalePending(before: Date, limit: number): Promise<StoredArtifact[]> {
    return this.repository.find({
      where: { status: 'pending', updatedAt: LessThan(before) },
      order: { id: 'ASC' },
      take: limit,
    });
  }

  async findByJob(jobId: string): Promise<StoredArtifact[]> {
    return this.repository.find({ where: { jobId, status: In(['pending', 'ready']) }, order: { id: 'ASC' } });
  }

  async findByLocation(provider: string, storageKey: string): Promise<StoredArtifact | null> {
    return this.repository.findOneBy({ provider, storageKey });
  }

}
