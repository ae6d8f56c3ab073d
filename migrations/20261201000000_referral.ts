import { sql, type Kysely } from 'kysely';

/**
 * Referral network (issue 17). The ServiceRequest and its Task stay in
 * `resource`; these tables hold the promises the database must keep:
 * - `referral`: one row per referral ServiceRequest with its one Task
 *   (both unique, so a second Task for the same referral cannot exist), the
 *   folio of the referring unit (unique: a resend never makes a second
 *   referral), the CLUES of both units (which side a caller is on, without
 *   reading Organizations on every Task update) and the status a Task on hold
 *   returns to;
 * - `referral_slot_booking`: the Appointment holding each Slot; the primary
 *   key is what makes a Slot booked at most once across every instance.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE referral (
      service_request_id text PRIMARY KEY,
      task_id text NOT NULL UNIQUE,
      folio text NOT NULL UNIQUE,
      patient_id text NOT NULL,
      requester_org text NOT NULL,
      owner_org text NOT NULL,
      requester_clues text NOT NULL,
      owner_clues text NOT NULL,
      held_from text,
      created timestamptz NOT NULL
    )
  `.execute(db);
  await sql`CREATE TABLE referral_slot_booking (slot_id text PRIMARY KEY, appointment_id text NOT NULL, booked timestamptz NOT NULL)`.execute(db);
  await sql`CREATE INDEX referral_slot_booking_appointment ON referral_slot_booking (appointment_id)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS referral_slot_booking`.execute(db);
  await sql`DROP TABLE IF EXISTS referral`.execute(db);
}
