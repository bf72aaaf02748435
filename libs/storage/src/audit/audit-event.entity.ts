import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

export type AuditOutcome = 'success' | 'denied' | 'error';

/**
 * One row per audited request: who (principal), what (action), which artifact, the outcome
 * with its status and error code, when, and from which client address. Rows are only ever
 * inserted (and purged by age); nothing updates them.
 */
@Entity({ name: 'storage_audit_events' })
@Index('idx_storage_audit_artifact', ['artifactId', 'id'])
@Index('idx_storage_audit_principal', ['principalId', 'id'])
@Index('idx_storage_audit_occurred', ['occurredAt'])
export class StorageAuditEvent {
  /** A UUIDv7: ordering by id is ordering by time. */
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'occurred_at', type: Date })
  occurredAt!: Date;

  /** `artifact.store`, `artifact.content`, `artifact.download_url`, `artifact.delete`, `upload.create`, ... */
  @Column({ type: 'varchar', length: 64 })
  action!: string;

  @Column({ type: 'varchar', length: 16 })
  outcome!: AuditOutcome;

  @Column({ name: 'status_code', type: 'integer', nullable: true })
  statusCode!: number | null;

  /** The StorageError code of a denial or failure (`E_ACCESS_DENIED`, `E_INVALID_SIGNATURE`, ...). */
  @Column({ name: 'error_code', type: 'varchar', length: 64, nullable: true })
  errorCode!: string | null;

  /** Null when the caller was not authenticated (or used a signed URL). */
  @Column({ name: 'principal_id', type: 'varchar', length: 255, nullable: true })
  principalId!: string | null;

  /** The caller's tenant, as authenticated. */
  @Column({ type: 'varchar', length: 128, nullable: true })
  tenant!: string | null;

  @Column({ name: 'artifact_id', type: 'varchar', length: 36, nullable: true })
  artifactId!: string | null;

  @Column({ name: 'board_id', type: 'varchar', length: 128, nullable: true })
  boardId!: string | null;

  @Column({ name: 'client_address', type: 'varchar', length: 64, nullable: true })
  clientAddress!: string | null;

  @Column({ type: 'varchar', length: 8, nullable: true })
  method!: string | null;

  /** The request path without its query string (signed URLs carry their signature there). */
  @Column({ type: 'varchar', length: 1024, nullable: true })
  path!: string | null;
}
