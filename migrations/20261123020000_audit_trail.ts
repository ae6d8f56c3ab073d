import { sql, type Kysely } from 'kysely';

/**
 * The audit trail (bitácora, NOM-024-SSA3-2012): one row per interaction,
 * holding its facts (compact JSON, from which the AuditEvent is rendered) plus
 * columns auditors search on.
 *
 * Tamper evidence: each row's `hash` = sha256(prev_hash || facts), chained
 * within one of 16 lanes (the appending connection's pid modulo 16). A lane's
 * head lives in `audit_chain` and is locked while a row is appended, so
 * `lane_seq` is gapless and follows commit order (a rolled-back append rolls
 * the head back too). One global chain would serialise every write's commit
 * behind one lock (measured: creates fell from ~2,500 to ~450/s); lanes keep
 * commits parallel. Rows are appended only by `audit_append(batch)`, which
 * chains a whole batch under one lock; direct INSERTs are refused. `npm run audit:verify` recomputes every lane: an edited,
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
      facts text NOT NULL,
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

  // Rows enter only through audit_append(), which chains a whole batch under one
  // lock of its lane's head (a per-row trigger doing the same cost ~65 µs a row).
  // wait_for_disk = false (reads' records) commits without waiting for the WAL
  // flush: the row is committed and visible before the answer leaves, so an API
  // crash loses nothing; only a crash of PostgreSQL itself within ~0.6 s could.
  await sql`
    CREATE FUNCTION audit_append(batch jsonb, wait_for_disk boolean) RETURNS void LANGUAGE plpgsql AS $$
    DECLARE
      my_lane smallint := pg_backend_pid() % 16;
      head audit_chain%ROWTYPE;
      r record;
      n bigint;
      h text;
    BEGIN
      IF NOT wait_for_disk THEN
        -- Committed for every other session at once, on disk within ~0.6 s (wal_writer_delay x 3).
        PERFORM set_config('synchronous_commit', 'off', true);
      END IF;
      SELECT * INTO head FROM audit_chain WHERE lane = my_lane FOR UPDATE;
      n := head.last_seq;
      h := head.last_hash;
      PERFORM set_config('ecu.audit_append', 'on', true);
      FOR r IN
        SELECT * FROM jsonb_to_recordset(batch) AS x(id uuid, recorded timestamptz, action text, subtype text, outcome text, agent text,
          agent_role text, clues text, entity_type text, entity_id text, patients text[], facts text)
      LOOP
        n := n + 1;
        INSERT INTO audit_event (lane, lane_seq, id, recorded, action, subtype, outcome, agent, agent_role, clues, entity_type, entity_id, patients, facts, prev_hash, hash)
        VALUES (my_lane, n, r.id, r.recorded, r.action, r.subtype, r.outcome, r.agent, r.agent_role, r.clues, r.entity_type, r.entity_id,
          coalesce(r.patients, '{}'), r.facts, h, encode(sha256(convert_to(h || r.facts, 'UTF8')), 'hex'));
        h := encode(sha256(convert_to(h || r.facts, 'UTF8')), 'hex');
      END LOOP;
      PERFORM set_config('ecu.audit_append', 'off', true);
      UPDATE audit_chain SET last_seq = n, last_hash = h WHERE lane = my_lane;
    END
    $$
  `.execute(db);
  await sql`
    CREATE FUNCTION refuse_direct_audit_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'audit_event rows are appended through audit_append() only';
    END
    $$
  `.execute(db);
  await sql`
    CREATE TRIGGER audit_event_append_only_via_function BEFORE INSERT ON audit_event FOR EACH ROW
    WHEN (current_setting('ecu.audit_append', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION refuse_direct_audit_insert()
  `.execute(db);
  // refuse_change() comes from the resource store migration.
  await sql`CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event FOR EACH ROW EXECUTE FUNCTION refuse_change()`.execute(db);
  await sql`CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()`.execute(db);
  await sql`CREATE TRIGGER audit_chain_no_delete BEFORE DELETE ON audit_chain FOR EACH ROW EXECUTE FUNCTION refuse_change()`.execute(db);
  await sql`CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()`.execute(db);
}
