import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';

/** Creates `storage_leases` (see StorageLease), with the driver's own type names like the artifacts migration. */
export class CreateStorageLeases1764480002000 implements MigrationInterface {
  name = 'CreateStorageLeases1764480002000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const dateType = queryRunner.connection.driver.normalizeType({ type: Date });
    await queryRunner.createTable(
      new Table({
        name: 'storage_leases',
        columns: [
          { name: 'name', type: 'varchar', length: '128', isPrimary: true },
          { name: 'holder', type: 'varchar', length: '128' },
          { name: 'acquired_at', type: dateType },
          { name: 'expires_at', type: dateType },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('storage_leases');
  }
}
