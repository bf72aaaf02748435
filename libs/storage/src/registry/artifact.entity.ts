import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

export type ArtifactStatus = 'pending' | 'ready' | 'deleted';

/** Turns PostgreSQL's bigint strings into numbers (artifact sizes stay far below 2^53). */
const bigintAsNumber = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => (value === null ? null : Number(value)),
};

/**
 * One row per stored artifact. The row names the provider that holds the bytes, so routing can
 * change later and migrations or fallbacks know where everything is.
 */
@Entity({ name: 'storage_artifacts' })
@Index('idx_storage_artifacts_listing', ['tenant', 'boardId', 'status', 'id'])
@Index('idx_storage_artifacts_expiry', ['status', 'expiresAt'])
@Index('idx_storage_artifacts_job', ['jobId'])
@Index('uq_storage_artifacts_location', ['provider', 'storageKey'], { unique: true })
export class StoredArtifact {
  /** A UUIDv7: time-ordered, so ordering by id is ordering by creation. */
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 128 })
  tenant!: string;

  @Column({ name: 'board_id', type: 'varchar', length: 128, nullable: true })
  boardId!: string | null;

  @Column({ name: 'artifact_type', type: 'varchar', length: 64 })
  artifactType!: string;

  @Column({ type: 'varchar', length: 128 })
  variant!: string;

  @Column({ name: 'storage_key', type: 'varchar', length: 1024 })
  storageKey!: string;

  @Column({ type: 'varchar', length: 64 })
  provider!: string;

  @Column({ name: 'content_type', type: 'varchar', length: 255 })
  contentType!: string;

  @Column({ type: 'bigint', nullable: true, transformer: bigintAsNumber })
  size!: number | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  sha256!: string | null;

  @Column({ type: 'varchar', length: 16 })
  status!: ArtifactStatus;

  /** Generation job that owns a temporary artifact (removed when the job ends). */
  @Column({ name: 'job_id', type: 'varchar', length: 128, nullable: true })
  jobId!: string | null;

  @Column({ name: 'created_by', type: 'varchar', length: 255, nullable: true })
  createdBy!: string | null;

  @Column({ name: 'metadata', type: 'simple-json', nullable: true })
  metadata!: Record<string, string> | null;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: Date })
  updatedAt!: Date;

  /** Set for temporary artifacts: swept after this instant. */
  @Column({ name: 'expires_at', nullable: true, type: Date })
  expiresAt!: Date | null;
}
