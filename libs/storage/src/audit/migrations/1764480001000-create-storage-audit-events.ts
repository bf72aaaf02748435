import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Creates `storage_audit_events`. Written with TypeORM's schema API and the driver's own type
 * names, like the artifacts migration, so it matches the entity on SQLite and PostgreSQL.
 */
export class CreateStorageAuditEvents1764480001000 implements MigrationInterface {
  name = 'CreateStorageAuditEvents1764480001000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const dateType = queryRunner.connection.driver.normalizeType({ type: Date });
    const varchar = (name: string, length: number, nullable = false) => ({ name, type: 'varchar', length: String(length), isNullable: nullable });
    await queryRunner.createTable(
      new Table({
        name: 'storage_audit_events',
        columns: [
          { ...varchar('id', 36), isPrimary: true },
          { name: 'occurred_at', type: dateType },
          varchar('action', 64),
          varchar('outcome', 16),
          { name: 'status_code', type: 'integer', isNullable: true },
          varchar('error_code', 64, true),
          varchar('principal_id', 255, true),
          varchar('tenant', 128, true),
          varchar('artifact_id', 36, true),
          varchar('board_id', 128, true),
          varchar('client_address', 64, true),
          varchar('method', 8, true),
          varchar('path', 1024, true),
        ],
      }),
    );
    await queryRunner.createIndices('storage_audit_events', [
      new TableIndex({ name: 'idx_storage_audit_artifact', columnNames: ['artifact_id', 'id'] }),
      new TableIndex({ name: 'idx_storage_audit_principal', columnNames: ['principal_id', 'id'] }),
      new TableIndex({ name: 'idx_storage_audit_occurred', columnNames: ['occurred_at'] }),
    ]);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('storage_audit_events');
  }
}
