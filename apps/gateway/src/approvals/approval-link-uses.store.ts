import type { DataSource } from 'typeorm';

export interface LinkUse {
  jti: string;
  tenant: string;
  operationId: string;
  approver: string;
  decision: string;
  expiresAt: number;
}

/** Durable record of used approval links (table approval_link_uses, created by the shared migrations). */
export class ApprovalLinkUsesStore {
  private readonly pg: boolean;

  constructor(private readonly db: DataSource) {
    this.pg = db.options.type === 'postgres';
  }

  /** Marks the link used; false when it already was (the insert conflicts on the primary key). */
  async consume(use: LinkUse): Promise<boolean> {
    const p = (i: number) => (this.pg ? `$${i}` : '?');
    const rows = (await this.db.query(
      `INSERT INTO approval_link_uses (jti, tenant, operation_id, approver, decision, used_at, expires_at)
       VALUES (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}, ${p(7)}) ON CONFLICT (jti) DO NOTHING RETURNING jti`,
      [use.jti, use.tenant, use.operationId, use.approver, use.decision, Date.now(), use.expiresAt],
    )) as unknown[];
    return rows.length === 1;
  }

  async isUsed(jti: string): Promise<boolean> {
    const rows = (await this.db.query(`SELECT jti FROM approval_link_uses WHERE jti = ${this.pg ? '$1' : '?'}`, [
      jti,
    ])) as unknown[];
    return rows.length > 0;
  }

  /** Gives a link back when the decision never reached the workflow (Temporal unreachable), so it can be retried. */
  async release(jti: string): Promise<void> {
    await this.db.query(`DELETE FROM approval_link_uses WHERE jti = ${this.pg ? '$1' : '?'}`, [jti]);
  }
}
