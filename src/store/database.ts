/** The typed Kysely view of the tables created in `migrations/`. */
import type { ColumnType, Generated } from 'kysely';

export interface ResourceTable {
  resource_type: string;
  id: string;
  version_id: number;
  last_updated: ColumnType<Date, Date, Date>;
  deleted: boolean;
  content: string | null;
  patients: ColumnType<string[], string[] | undefined, string[]>;
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
  patients: ColumnType<string[], string[] | undefined, string[]>;
}

export interface AuditEventTable {
  // seq is an identity; lane, lane_seq, prev_hash and hash are set by audit_append().
  seq: Generated<string>;
  lane: Generated<number>;
  lane_seq: Generated<string>;
  id: string;
  recorded: ColumnType<Date, Date, never>;
  action: string;
  subtype: string;
  outcome: string;
  agent: string;
  agent_role: string | null;
  clues: string | null;
  entity_type: string | null;
  entity_id: string | null;
  patients: string[];
  /** The event's facts as compact JSON: what the hash chain covers; the AuditEvent is rendered from it. */
  facts: string;
  prev_hash: Generated<string>;
  hash: Generated<string>;
}

export interface AuditChainTable {
  lane: number;
  last_seq: string;
  last_hash: string;
}

export interface Database {
  resource: ResourceTable;
  resource_history: ResourceHistoryTable;
  audit_event: AuditEventTable;
  audit_chain: AuditChainTable;
}
