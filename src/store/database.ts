/** The typed Kysely view of the tables created in `migrations/`. */
import type { ColumnType, Generated } from 'kysely';

export interface ResourceTable {
  resource_type: string;
  id: string;
  version_id: number;
  last_updated: ColumnType<Date, Date, Date>;
  deleted: boolean;
  content: string | null;
}

export interface ResourceHistoryTable {
  // bigint comes back from pg as a string; it is only ever compared and echoed as a cursor.
  seq: Generated<string>;
  resource_type: string;
  id: string;
  version_id: number;
  last_updated: ColumnType<Date, Date, Date>;
  deleted: boolean;
  content: string | null;
}

export interface Database {
  resource: ResourceTable;
  resource_history: ResourceHistoryTable;
}
