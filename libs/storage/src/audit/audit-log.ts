import { LessThan, type DataSource, type Repository } from 'typeorm';
import { v7 as uuidv7 } from 'uuid';
import { InvalidArgumentError } from '../errors/index.js';
import { decodeIdCursor, encodeIdCursor } from '../registry/id-cursor.js';
import { StorageAuditEvent, type AuditOutcome } from './audit-event.entity.js';

export interface AuditEventInput {
  /** Defaults to a new UUIDv7; pass one made when the request arrived to keep events in arrival order. */
  id?: string;
  action: string;
  outcome: AuditOutcome;
  statusCode?: number | null;
  errorCode?: string | null;
  principalId?: string | null;
  tenant?: string | null;
  artifactId?: string | null;
  boardId?: string | null;
  clientAddress?: string | null;
  method?: string | null;
  path?: string | null;
  occurredAt?: Date;
}

export interface AuditQuery {
  /** Only events of callers of this tenant (what a tenant's own users may see). */
  tenant?: string;
  /** Page size, 1-500. Default 100. */
  limit?: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
}

export interface AuditPage {
  /** Newest first. */
  items: StorageAuditEvent[];
  cursor?: string;
}

const clip = (value: string | null | undefined, length: number): string | null =>
  value === undefined || value === null ? null : value.slice(0, length);

/**
 * The audit trail: inserts one row per audited request and answers "what happened to this
 * artifact" and "what did this principal do", newest first, page by page.
 */
export class StorageAuditLog {
  readonly repository: Repository<StorageAuditEvent>;

  constructor(readonly dataSource: DataSource) {
    this.repository = dataSource.getRepository(StorageAuditEvent);
  }

  async record(input: AuditEventInput): Promise<StorageAuditEvent> {
    // Fields come from requests: clipped to their columns so a hostile value cannot fail the insert.
    const row = this.repository.create({
      id: input.id ?? uuidv7(),
      occurredAt: input.occurredAt ?? new Date(),
      action: input.action.slice(0, 64),
      outcome: input.outcome,
      statusCode: input.statusCode ?? null,
      errorCode: clip(input.errorCode, 64),
      principalId: clip(input.principalId, 255),
      tenant: clip(input.tenant, 128),
      artifactId: input.artifactId && input.artifactId.length <= 36 ? input.artifactId : null,
      boardId: clip(input.boardId, 128),
      clientAddress: clip(input.clientAddress, 64),
      method: clip(input.method, 8),
      path: clip(input.path, 1024),
    });
    await this.repository.insert(row);
    return row;
  }

  findByArtifact(artifactId: string, query: AuditQuery = {}): Promise<AuditPage> {
    return this.page({ artifactId }, query);
  }

  findByPrincipal(principalId: string, query: AuditQuery = {}): Promise<AuditPage> {
    return this.page({ principalId }, query);
  }

  /** Removes events older than `before` (retention). Returns how many were removed. */
  async purgeBefore(before: Date): Promise<number> {
    const result = await this.repository.delete({ occurredAt: LessThan(before) });
    return result.affected ?? 0;
  }

  private async page(where: { artifactId?: string; principalId?: string }, query: AuditQuery): Promise<AuditPage> {
    const limit = query.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new InvalidArgumentError('limit must be 1-500');
    const builder = this.repository.createQueryBuilder('e');
    if (where.artifactId !== undefined) builder.where('e.artifact_id = :artifactId', { artifactId: where.artifactId });
    if (where.principalId !== undefined) builder.where('e.principal_id = :principalId', { principalId: where.principalId });
    if (query.tenant !== undefined) builder.andWhere('e.tenant = :tenant', { tenant: query.tenant });
    if (query.cursor !== undefined) builder.andWhere('e.id < :before', { before: decodeIdCursor(query.cursor) });
    const rows = await builder.orderBy('e.id', 'DESC').limit(limit + 1).getMany();
    const items = rows.slice(0, limit);
    const last = items.at(-1);
    return { items, cursor: rows.length > limit && last ? encodeIdCursor(last.id) : undefined };
  }
}
