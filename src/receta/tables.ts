/** The receta tables (migrations/20261123040000_receta.ts), typed for Kysely; kept here so the core schema stays the core's. */
import type { ColumnType, Kysely } from 'kysely';
import type { Database } from '../store/database.ts';
import type { Db } from '../store/resource-store.ts';

// numeric comes back from pg as a string.
type Numeric = ColumnType<string, number | string, number | string>;

// A type alias (not an interface) so it satisfies withTables' Record constraint.
export type RecetaTables = {
  receta_folio_institution: { institution: string; last: ColumnType<string, number, number> };
  receta: {
    folio_system: string;
    folio: string;
    clues: string;
    patient_id: string | null;
    patient_curp: string | null;
    requester: string;
    provenance_id: string;
    kid: string;
    signed_at: ColumnType<Date, Date, Date>;
  };
  receta_item: {
    medication_request_id: string;
    folio_system: string;
    folio: string;
    signed_version: number;
    controlled_group: string | null;
    quantity_unit: string | null;
    max_total: Numeric;
    max_dispenses: number | null;
    valid_from: ColumnType<Date | null, Date | null, Date | null>;
    valid_until: ColumnType<Date | null, Date | null, Date | null>;
  };
  receta_dispense: {
    dispense_id: string;
    medication_request_id: string;
    quantity: Numeric;
    counted: boolean;
    pharmacy_clues: string | null;
    dispensed_by: string | null;
    recorded: ColumnType<Date, Date, Date>;
  };
  receta_special_folio: { value: string; medication_request_id: string };
  receta_catalog: { medication_id: string; compendio_key: string | null; controlled_group: string };
};

export type RecetaDb = Kysely<Database & RecetaTables>;

/** The same connection (or transaction), seeing the receta tables too. */
export function recetaDb(db: Db): RecetaDb {
  return db.withTables<RecetaTables>();
}
