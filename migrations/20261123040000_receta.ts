import { sql, type Kysely } from 'kysely';

/**
 * Receta electrónica (issue 7). The prescriptions themselves stay in
 * `resource`; these tables hold what the server must know to keep its
 * promises without parsing JSON on hot paths:
 * - `receta_folio_counter`: the last folio issued per CLUES (one row per unit,
 *   incremented inside the signing transaction, so folios never repeat);
 * - `receta`: one row per signed receta (folio, unit, patient and CURP at
 *   signing, signing Provenance, key id) — the pharmacy queue's index;
 * - `receta_item`: one row per signed MedicationRequest, with the limits fixed
 *   at signing (quantity including refills, number of dispenses, validity);
 * - `receta_dispense`: the dispense ledger, one row per MedicationDispense
 *   that counts against a prescription (summed under a row lock on the
 *   prescription, so two pharmacies can never over-dispense);
 * - `receta_special_folio`: COFEPRIS special-form folios (group I), each
 *   usable once;
 * - `receta_catalog`: controlled-substance group of each Medication of the
 *   catalogue, by Medication id and Compendio Nacional key.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE receta_folio_counter (clues text PRIMARY KEY, last bigint NOT NULL)`.execute(db);
  await sql`
    CREATE TABLE receta (
      folio_system text NOT NULL,
      folio text NOT NULL,
      clues text NOT NULL,
      patient_id text,
      patient_curp text,
      requester text NOT NULL,
      provenance_id text NOT NULL,
      kid text NOT NULL,
      signed_at timestamptz NOT NULL,
      PRIMARY KEY (folio_system, folio)
    )
  `.execute(db);
  await sql`CREATE INDEX receta_patient_curp ON receta (patient_curp)`.execute(db);
  await sql`CREATE INDEX receta_folio_value ON receta (folio)`.execute(db);
  await sql`CREATE INDEX receta_signed_at ON receta (signed_at)`.execute(db);
  await sql`CREATE INDEX receta_provenance ON receta (provenance_id)`.execute(db);
  await sql`
    CREATE TABLE receta_item (
      medication_request_id text PRIMARY KEY,
      folio_system text NOT NULL,
      folio text NOT NULL,
      signed_version integer NOT NULL,
      controlled_group text,
      quantity_unit text,
      max_total numeric NOT NULL,
      max_dispenses integer,
      valid_from timestamptz,
      valid_until timestamptz,
      FOREIGN KEY (folio_system, folio) REFERENCES receta (folio_system, folio)
    )
  `.execute(db);
  await sql`CREATE INDEX receta_item_folio ON receta_item (folio_system, folio)`.execute(db);
  await sql`
    CREATE TABLE receta_dispense (
      dispense_id text PRIMARY KEY,
      medication_request_id text NOT NULL REFERENCES receta_item (medication_request_id),
      quantity numeric NOT NULL,
      counted boolean NOT NULL,
      pharmacy_clues text,
      dispensed_by text,
      recorded timestamptz NOT NULL
    )
  `.execute(db);
  await sql`CREATE INDEX receta_dispense_request ON receta_dispense (medication_request_id)`.execute(db);
  await sql`CREATE TABLE receta_special_folio (value text PRIMARY KEY, medication_request_id text NOT NULL)`.execute(db);
  await sql`
    CREATE TABLE receta_catalog (
      medication_id text NOT NULL,
      compendio_key text,
      controlled_group text NOT NULL
    )
  `.execute(db);
  await sql`CREATE INDEX receta_catalog_medication ON receta_catalog (medication_id)`.execute(db);
  await sql`CREATE INDEX receta_catalog_key ON receta_catalog (compendio_key)`.execute(db);
}
