/** The typed Kysely view of the search index tables (migrations/20261123010000_search_index.ts). */
import type { Kysely } from 'kysely';
import type { Database } from '../store/database.ts';

interface Keyed {
  resource_type: string;
  id: string;
  param: string;
  grp: number;
}

export type SearchTables = {
  sp_string: Keyed & { value: string; exact: string };
  sp_token: Keyed & { system: string | null; code: string | null; text: string | null };
  sp_date: Keyed & { lo: Date; hi: Date };
  sp_number: Keyed & { value: string };
  sp_quantity: Keyed & { value: string; system: string | null; code: string | null; unit: string | null };
  sp_reference: Keyed & { target_type: string | null; target_id: string | null; url: string | null };
  sp_uri: Keyed & { value: string };
};

export type SearchDatabase = Database & SearchTables;
export type SearchDb = Kysely<SearchDatabase>;

export function searchDb(db: Kysely<Database>): SearchDb {
  return db.withTables<SearchTables>();
}
