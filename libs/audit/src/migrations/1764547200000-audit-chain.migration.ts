import { type MigrationInterface, type QueryRunner, Table, TableColumn, TableIndex } from 'typeorm';
import { chainHash, GENESIS_HASH, recordFromRaw, type RawChainRow } from '../chain/chain-record.js';

/**
 * The tamper-evident chain (issue 6): hash, prev_hash and notes on every event, the gapless per-tenant seq filled
 * in for events stored before the chain existed (in time order), a chain head per tenant (the row writers lock to
 * take the next seq) and the signed checkpoints.
 */
export class AuditChain1764547200000 implements MigrationInterface {
  name = 'AuditChain1764547200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const pg = queryRunner.connection.driver.options.type === 'postgres';
    await queryRunner.addColumns('audit_events', [
      new TableColumn({ name: 'hash', type: 'text', isNullable: true }),
      new TableColumn({ name: 'prev_hash', type: 'text', isNullable: true }),
      // JSON array of short notes (e.g. "pii redacted: email"), covered by the hash like every stored field.
      new TableColumn({ name: 'notes', type: 'text', isNullable: true }),
    ]);
    await queryRunner.createTable(
      new Table({
        name: 'audit_chain_heads',
        columns: [
          { name: 'tenant', type: 'text', isPrimary: true },
          { name: 'seq', type: 'bigint' },
          { name: 'hash', type: 'text' },
          // Where the stored chain begins: 1 and the genesis hash until retention purges older events.
          { name: 'start_seq', type: 'bigint' },
          { name: 'start_prev_hash', type: 'text' },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'audit_checkpoints',
        columns: [
          { name: 'id', type: pg ? 'uuid' : 'varchar', isPrimary: true },
          { name: 'tenant', type: 'text' },
          { name: 'seq', type: 'bigint' },
          { name: 'hash', type: 'text' },
          { name: 'start_seq', type: 'bigint' },
          { name: 'start_prev_hash', type: 'text' },
          { name: 'created_at', type: 'text' },
          { name: 'reason', type: 'text' },
          { name: 'key_id', type: 'text' },
          { name: 'signature', type: 'text' },
        ],
      }),
    );
    await queryRunner.createIndex(
      'audit_checkpoints',
      new TableIndex({ name: 'idx_audit_checkpoints_tenant_seq', columnNames: ['tenant', 'seq'] }),
    );
    await this.chainExistingEvents(queryRunner);
    await queryRunner.createIndex(
      'audit_events',
      new TableIndex({ name: 'uq_audit_events_tenant_seq', columnNames: ['tenant', 'seq'], isUnique: true }),
    );
  }

  /** Events written before this migration join their tenant's chain in (time, id) order. */
  private async chainExistingEvents(queryRunner: QueryRunner): Promise<void> {
    const rows = (await queryRunner.query('SELECT * FROM audit_events ORDER BY tenant, time, id')) as RawChainRow[];
    const heads = new Map<string, { seq: number; hash: string }>();
    for (const row of rows) {
      const head = heads.get(row.tenant) ?? { seq: 0, hash: GENESIS_HASH };
      const seq = head.seq + 1;
      const hash = chainHash(head.hash, recordFromRaw(row));
      await queryRunner.query(
        `UPDATE audit_events SET seq = ${param(queryRunner, 1)}, hash = ${param(queryRunner, 2)}, ` +
          `prev_hash = ${param(queryRunner, 3)} WHERE id = ${param(queryRunner, 4)}`,
        [seq, hash, head.hash, row.id],
      );
      heads.set(row.tenant, { seq, hash });
    }
    for (const [tenant, head] of heads) {
      await queryRunner.query(
        `INSERT INTO audit_chain_heads (tenant, seq, hash, start_seq, start_prev_hash) VALUES (` +
          `${[1, 2, 3, 4, 5].map((i) => param(queryRunner, i)).join(', ')})`,
        [tenant, head.seq, head.hash, 1, GENESIS_HASH],
      );
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('audit_events', 'uq_audit_events_tenant_seq');
    await queryRunner.dropTable('audit_checkpoints');
    await queryRunner.dropTable('audit_chain_heads');
    await queryRunner.dropColumns('audit_events', ['hash', 'prev_hash', 'notes']);
  }
}

function param(queryRunner: QueryRunner, index: number): string {
  return queryRunner.connection.driver.options.type === 'postgres' ? `$${index}` : '?';
}
