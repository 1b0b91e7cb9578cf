import { EntitySchema } from 'typeorm';

/** One counter per (quota key, period): how much of the quota the period has used. */
export interface QuotaCounterRow {
  counterKey: string;
  /** Period start, ms since the epoch (0 for a lifetime quota). */
  periodStart: number;
  tenant: string;
  used: number;
  /** Alert level already sent this period: 0 none, 1 threshold, 2 over the limit. */
  alerted: number;
}

/** One reservation of a governed operation against a counter; its id makes reserve/commit/release idempotent. */
export interface QuotaReservationRow {
  id: string;
  tenant: string;
  /** Null for a tombstone (released before it was ever reserved). */
  counterKey: string | null;
  periodStart: number | null;
  amount: number;
  status: 'reserved' | 'refused' | 'committed' | 'released';
}

const bigintAsNumber = { to: (v: unknown) => v, from: (v: unknown) => (v == null ? null : Number(v)) };

export const QUOTA_COUNTERS_TABLE = 'quota_counters';
export const QUOTA_RESERVATIONS_TABLE = 'quota_reservations';

export const quotaCounterSchema = new EntitySchema<QuotaCounterRow>({
  name: 'QuotaCounter',
  tableName: QUOTA_COUNTERS_TABLE,
  columns: {
    counterKey: { type: 'text', name: 'counter_key', primary: true },
    periodStart: { type: 'bigint', name: 'period_start', primary: true, transformer: bigintAsNumber },
    tenant: { type: 'text' },
    used: { type: 'double precision', transformer: bigintAsNumber },
    alerted: { type: 'integer' },
  },
});

export const quotaReservationSchema = new EntitySchema<QuotaReservationRow>({
  name: 'QuotaReservation',
  tableName: QUOTA_RESERVATIONS_TABLE,
  columns: {
    id: { type: 'text', primary: true },
    tenant: { type: 'text' },
    counterKey: { type: 'text', name: 'counter_key', nullable: true },
    periodStart: { type: 'bigint', name: 'period_start', nullable: true, transformer: bigintAsNumber },
    amount: { type: 'double precision', transformer: bigintAsNumber },
    status: { type: 'text' },
  },
});
