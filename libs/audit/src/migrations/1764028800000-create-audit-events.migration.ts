import { type MigrationInterface, type QueryRunner, Table, TableIndex } from 'typeorm';

/** The audit trail's first table. Column types are chosen per driver; names match audit-event.entity.ts. */
export class CreateAuditEvents1764028800000 implements MigrationInterface {
  name = 'CreateAuditEvents1764028800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const pg = queryRunner.connection.driver.options.type === 'postgres';
    const text = (name: string, isNullable = true) => ({ name, type: 'text', isNullable });
    await queryRunner.createTable(
      new Table({
        name: 'audit_events',
        columns: [
          { name: 'id', type: pg ? 'uuid' : 'varchar', isPrimary: true },
          // Reserved for the per-tenant hash chain (issue 6): gapless position of the event in its tenant's chain.
          { name: 'seq', type: 'bigint', isNullable: true },
          { name: 'time', type: pg ? 'timestamptz' : 'datetime' },
          text('tenant', false),
          text('user_name', false),
          text('session_id'),
          text('server', false),
          text('method', false),
          text('target'),
          text('decision', false),
          text('policy'),
          text('rules'),
          text('config_version', false),
          text('intent'),
          text('outcome', false),
          text('error_message'),
          { name: 'duration_ms', type: 'integer' },
          { name: 'request_bytes', type: 'integer' },
          { name: 'response_bytes', type: 'integer' },
          text('args_summary'),
          text('result_summary'),
          text('operation_id'),
        ],
      }),
    );
    // Each index costs every append a B-tree insert, so only those the queries need. The chain's unique
    // (tenant, seq) index arrives with the chain itself (issue 6), when seq is filled in.
    const indexes: Array<[string, string[]]> = [
      ['idx_audit_events_time', ['time']],
      ['idx_audit_events_tenant_time', ['tenant', 'time']],
      ['idx_audit_events_server_time', ['server', 'time']],
      ['idx_audit_events_operation', ['operation_id']],
    ];
    for (const [name, columnNames] of indexes) {
      await queryRunner.createIndex('audit_events', new TableIndex({ name, columnNames }));
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('audit_events');
  }
}
