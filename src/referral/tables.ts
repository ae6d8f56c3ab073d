/** The referral tables (migrations/20261201000000_referral.ts), typed for Kysely; kept here so the core schema stays the core's. */
import type { ColumnType, Kysely } from 'kysely';
import type { Database } from '../store/database.ts';
import type { Db } from '../store/resource-store.ts';

export type ReferralTables = {
  referral: {
    service_request_id: string;
    task_id: string;
    folio: string;
    patient_id: string;
    requester_org: string;
    owner_org: string;
    requester_clues: string;
    owner_clues: string;
    held_from: string | null;
    created: ColumnType<Date, Date, Date>;
  };
  referral_slot_booking: { slot_id: string; appointment_id: string; booked: ColumnType<Date, Date, Date> };
};

export type ReferralDb = Kysely<Database & ReferralTables>;

export function referralDb(db: Db): ReferralDb {
  return db.withTables<ReferralTables>();
}
