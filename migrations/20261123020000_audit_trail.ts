import { sql, type Kysely } from 'kysely';

/**
 * The audit trail (bitácora, NOM-024-SSA3-2012): one row per interaction,
 * holding the AuditEvent JSON served for it plus columns auditors search on.
 *
 * Tamper evidence: each row's `hash` = sha256(prev_hash || content), chained
 * within one of 16 lanes (the appending connection's pid modulo 16). A lane's
 * head lives in `audit_chain` and is locked while a row is appended, so
 * `lane_seq` is gapless and follows commit order (a rolled-back append rolls
 * the head back too). One global chain would serialise every write's commit
 * behind one lock (measured: creates fell from ~2,500 to ~450/s); lanes keep
 * commits parallel. `npm run audit:verify` recomputes every lane: an edited,
 * removed or forged row breaks it. UPDATE, DELETE and TRUNCATE on the trail
 * are refused by triggers. Appenders run in READ COMMITTED, where the locked
 * SELECT sees the last committed head. `seq` orders the trail for paging.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE audit_event (
      seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      lane smallint NOT NULL,
      lane_seq bigint NOT NULL,
      id uuid NOT NULL UNIQUE,
      recorded timestamptz NOT NULL,
      action text NOT NULL,
      subtype text NOT NULL,
      outcome text NOT NULL,
      agent text NOT NULL,
      agent_role text,
      clues text,
      entity_type text,
      entity_id text,
      patients text[] NOT NULL DEFAULT '{}',
      content text NOT NULL,
      prev_hash text NOT NULL,
      hash text NOT NULL,
      UNIQUE (lane, lane_seq)
    )
  `.execute(db);
  await sql`CREATE INDEX audit_event_recorded ON audit_event (recorded)`.execute(db);
  await sql`CREATE INDEX audit_event_patients ON audit_event USING gin (patients)`.execute(db);
  await sql`CREATE INDEX audit_event_agent ON audit_event (agent, recorded)`.execute(db);
  await sql`CREATE INDEX audit_event_entity ON audit_event (entity_type, entity_id)`.execute(db);

  await sql`CREATE TABLE audit_chain (lane smallint PRIMARY KEY CHECK (lane >= 0 AND lane < 16), last_seq bigint NOT NULL, last_hash text NOT NULL)`.execute(db);
  await sql`INSERT INTO audit_chain (lane, last_seq, last_hash) SELECT g, 0, 'genesis' FROM generate_series(0, 15) AS g`.execute(db);

  await sql`
    CREATE FUNCTION audit_event_chain() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      head audit_chain%ROWTYPE;
    BEGIN
      NEW.lane := pg_backend_pid() % 16;
      SELECT * INTO head FROM audit_chain WHERE lane = NEW.lane FOR UPDATE;
      NEW.lane_seq := head.last_seq + 1;
      NEW.prev_hash := head.last_hash;
      NEW.hash := encode(sha256(convert_to(NEW.prev_hash || NEW.content, 'UTF8')), 'hex');
      UPDATE audit_chain SET last_seq = NEW.lane_seq, last_hash = NEW.hash WHERE lane = NEW.lane;
      RETURN NEW;
    END
    $$
  `.execute(db);
  await sql`CREATE TRIGGER audit_event_chain BEFORE INSERT ON audit_event FOR EACH ROW EXECUTE FUNCTION audit_event_chain()`.execute(db);
  // refuse_change() comes from the resource store migration.
  await sql`CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event FOR EACH ROW EXECUTE FUNCTION refuse_change()`.execute(db);
  await sql`CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()`.execute(db);
  await sql`CREATE TRIGGER audit_chain_no_delete BEFORE DELETE ON audit_chain FOR EACH ROW EXECUTE FUNCTION refuse_change()`.execute(db);
  await sql`CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()`.execute(db);
}
