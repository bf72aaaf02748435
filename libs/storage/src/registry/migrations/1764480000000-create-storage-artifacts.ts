import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Creates `storage_artifacts`. Written with TypeORM's schema API and the driver's own type
 * names, so the same migration matches the entity on SQLite and PostgreSQL.
 */
export class CreateStorageArtifacts1764480000000 implements MigrationInterface {
  name = 'CreateStorageArtifacts1764480000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const driver = queryRunner.connection.driver;
    const dateType = driver.normalizeType({ type: Date });
    const jsonType = driver.normalizeType({ type: 'simple-json' });
    const varchar = (name: string, length: number, nullable = false) => ({ name, type: 'varchar', length: String(length), isNullable: nullable });
    await queryRunner.createTable(
      new Table({
        name: 'storage_artifacts',
        columns: [
          { ...varchar('id', 36), isPrimary: true },
          varchar('tenant', 128),
          varchar('board_id', 128, true),
          varchar('artifact_type', 64),
          varchar('variant', 128),
          varchar('storage_key', 1024),
          varchar('provider', 64),
          varchar('content_type', 255),
          { name: 'size', type: 'bigint', isNullable: true },
          varchar('sha256', 64, true),
          varchar('status', 16),
          varchar('job_id', 128, true),
          varchar('created_by', 255, true),
          { name: 'metadata', type: jsonType, isNullable: true },
          { name: 'created_at', type: dateType },
          { name: 'updated_at', type: dateType },
          { name: 'expires_at', type: dateType, isNullable: true },
        ],
      }),
    );
    await queryRunner.createIndices('storage_artifacts', [
      new TableIndex({ name: 'idx_storage_artifacts_listing', columnNames: ['tenant', 'board_id', 'status', 'id'] }),
      new TableIndex({ name: 'idx_storage_artifacts_expiry', columnNames: ['status', 'expires_at'] }),
      new TableIndex({ name: 'idx_storage_artifacts_job', columnNames: ['job_id'] }),
      new TableIndex({ name: 'uq_storage_artifacts_location', columnNames: ['provider', 'storage_key'], isUnique: true }),
    ]);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('storage_artifacts');
  }
}
