import { type MigrationInterface, type QueryRunner, Table } from 'typeorm';

/** Used approval-link ids: an emailed link decides once (the gateway inserts the id; a second insert conflicts). */
export class CreateApprovalLinkUses1764201600000 implements MigrationInterface {
  name = 'CreateApprovalLinkUses1764201600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'approval_link_uses',
        columns: [
          { name: 'jti', type: 'text', isPrimary: true },
          { name: 'tenant', type: 'text' },
          { name: 'operation_id', type: 'text' },
          { name: 'approver', type: 'text' },
          { name: 'decision', type: 'text' },
          // epoch ms; rows past expires_at may be deleted (the link is refused as expired anyway).
          { name: 'used_at', type: 'bigint' },
          { name: 'expires_at', type: 'bigint' },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('approval_link_uses');
  }
}
