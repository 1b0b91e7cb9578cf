import { type MigrationInterface, type QueryRunner, Table } from 'typeorm';

/** Quota counters and reservations of governed operations (the workflow's reservation saga). */
export class CreateQuotaTables1764115200000 implements MigrationInterface {
  name = 'CreateQuotaTables1764115200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const pg = queryRunner.connection.driver.options.type === 'postgres';
    const real = pg ? 'double precision' : 'real';
    await queryRunner.createTable(
      new Table({
        name: 'quota_counters',
        columns: [
          { name: 'counter_key', type: 'text', isPrimary: true },
          { name: 'period_start', type: 'bigint', isPrimary: true },
          { name: 'tenant', type: 'text' },
          { name: 'used', type: real, default: 0 },
          { name: 'alerted', type: 'integer', default: 0 },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'quota_reservations',
        columns: [
          { name: 'id', type: 'text', isPrimary: true },
          { name: 'tenant', type: 'text' },
          { name: 'counter_key', type: 'text', isNullable: true },
          { name: 'period_start', type: 'bigint', isNullable: true },
          { name: 'amount', type: real, default: 0 },
          { name: 'status', type: 'text' },
          { name: 'created_at', type: 'bigint' },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('quota_reservations');
    await queryRunner.dropTable('quota_counters');
  }
}
