import { type MigrationInterface, type QueryRunner, Table, TableIndex } from 'typeorm';

/**
 * Per-tenant data keys for audit field encryption, each wrapped (AES-256-GCM) by the master key, which is never
 * stored here. Crypto-shredding a tenant (`atom-gov tenants forget`) nulls `wrapped_key`; the row stays so reads
 * can tell "erased" from "unknown key".
 */
export class CreateTenantKeys1764460800000 implements MigrationInterface {
  name = 'CreateTenantKeys1764460800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'audit_tenant_keys',
        columns: [
          { name: 'key_id', type: 'text', isPrimary: true },
          { name: 'tenant', type: 'text' },
          { name: 'wrapped_key', type: 'text', isNullable: true },
          { name: 'master_key_id', type: 'text' },
          // epoch ms
          { name: 'created_at', type: 'bigint' },
          { name: 'retired_at', type: 'bigint', isNullable: true },
          { name: 'destroyed_at', type: 'bigint', isNullable: true },
        ],
      }),
    );
    await queryRunner.createIndex(
      'audit_tenant_keys',
      new TableIndex({ name: 'idx_audit_tenant_keys_tenant', columnNames: ['tenant', 'created_at'] }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('audit_tenant_keys');
  }
}
