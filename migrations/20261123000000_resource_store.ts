import { sql, type Kysely } from 'kysely';

/**
 * Resource storage: `resource` holds the current version of every resource
 * (one row per type+id, tombstoned on delete), `resource_history` every
 * version ever written. History rows are produced by a trigger on `resource`,
 * so a simple write is one statement (one round trip) and no code path can
 * forget to keep history. History is append-only: the database refuses to
 * change or remove a version (NOM-004: amend with a new version, never rewrite).
 *
 * `content` is the resource JSON text exactly as served (meta included), so a
 * read sends it without parsing. `patients` are the ids of the patients whose
 * compartment the version belongs to, computed once at write time, so access
 * checks and audit records of reads need not parse the JSON. Search indexes and audit get their own tables
 * in later migrations, keyed by (resource_type, id).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE resource (
      resource_type text NOT NULL,
      id text NOT NULL,
      version_id integer NOT NULL,
      last_updated timestamptz NOT NULL,
      deleted boolean NOT NULL DEFAULT false,
      content text,
      patients text[] NOT NULL DEFAULT '{}',
      PRIMARY KEY (resource_type, id),
      CHECK (deleted = (content IS NULL))
    )
  `.execute(db);

  await sql`
    CREATE TABLE resource_history (
      seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      resource_type text NOT NULL,
      id text NOT NULL,
      version_id integer NOT NULL,
      last_updated timestamptz NOT NULL,
      deleted boolean NOT NULL,
      content text,
      patients text[] NOT NULL DEFAULT '{}',
      UNIQUE (resource_type, id, version_id)
    )
  `.execute(db);
  // A patient's whole record ($everything, summaries, patient-token checks) in one index scan.
  await sql`CREATE INDEX resource_patients ON resource USING gin (patients) WHERE NOT deleted`.execute(db);
  // Type- and system-level history read newest first, filtered by _since.
  await sql`CREATE INDEX resource_history_type_seq ON resource_history (resource_type, seq)`.execute(db);
  await sql`CREATE INDEX resource_history_last_updated ON resource_history (last_updated)`.execute(db);

  await sql`
    CREATE FUNCTION resource_keep_history() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'UPDATE' AND NEW.version_id <> OLD.version_id + 1 THEN
        RAISE EXCEPTION 'version % of %/% does not follow %', NEW.version_id, NEW.resource_type, NEW.id, OLD.version_id;
      END IF;
      INSERT INTO resource_history (resource_type, id, version_id, last_updated, deleted, content, patients)
      VALUES (NEW.resource_type, NEW.id, NEW.version_id, NEW.last_updated, NEW.deleted, NEW.content, NEW.patients);
      RETURN NULL;
    END
    $$
  `.execute(db);
  await sql`
    CREATE TRIGGER resource_keep_history AFTER INSERT OR UPDATE ON resource
    FOR EACH ROW EXECUTE FUNCTION resource_keep_history()
  `.execute(db);

  await sql`
    CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
    END
    $$
  `.execute(db);
  await sql`
    CREATE TRIGGER resource_history_append_only BEFORE UPDATE OR DELETE ON resource_history
    FOR EACH ROW EXECUTE FUNCTION refuse_change()
  `.execute(db);
  await sql`
    CREATE TRIGGER resource_no_delete BEFORE DELETE ON resource
    FOR EACH ROW EXECUTE FUNCTION refuse_change()
  `.execute(db);
}
