/**
 * The one place a version is written. What must commit or fail together with
 * the resource row comes in three kinds:
 * - `WriteCheck`s refuse a write before anything is sent (the patient-token
 *   compartment rule);
 * - `WriteStatement`s contribute a SQL function call (search index rows, the
 *   audit record) that runs in the SAME statement as the row write, only if
 *   the row was written: a write with its indexes and audit record is one
 *   round trip and, outside bundles, needs no explicit transaction (each
 *   round trip costs ~0.1 ms of system time on these VMs; five per write made
 *   creates four times slower);
 * - `WriteHook`s run their own statements in the write's transaction, for work
 *   that must read first (e.g. locking a prescription before a dispense).
 * Inside a bundle transaction the caller's transaction is reused, so a failed
 * entry rolls everything back.
 */
import { sql, type RawBuilder } from 'kysely';
import { withinDeadline } from './deadline.ts';
import { prepared } from '../store/prepared.ts';
import { normalizeContentReferences } from './normalize-reference.ts';
import type { Db, StoredVersion } from '../store/resource-store.ts';
import type { FhirError } from './errors.ts';
import type { FhirContext } from './types.ts';

export interface WrittenVersion {
  stored: StoredVersion;
  /** The version replaced, if any (undefined for a first version). */
  previous: StoredVersion | undefined;
}

/** Throws (a FhirError) to refuse the write; runs before anything reaches the database. */
export type WriteCheck = (written: WrittenVersion, ctx: FhirContext) => void;

/**
 * The set-based form of a WriteStatement, for a transaction bundle's creates
 * sent together (write-batch.ts): `item` is this write's share (undefined:
 * none), `statements` the CTE bodies that write every item at once.
 */
export interface BatchedStatement {
  item(written: WrittenVersion, ctx: FhirContext): unknown;
  statements(items: unknown[]): RawBuilder<unknown>[];
}

/** A SQL expression (typically a function call) evaluated once, in the write's statement, if the row is written. */
export type WriteStatement = ((written: WrittenVersion, ctx: FhirContext) => RawBuilder<unknown> | undefined) & { batched?: BatchedStatement };

/**
 * Runs inside the write's transaction, after the resource row is written; throwing rolls the write back.
 * `types`, when set, limits it to those resource types, so other writes stay a single statement.
 */
export type WriteHook = ((tx: Db, written: WrittenVersion, ctx: FhirContext) => Promise<void>) & {
  types?: readonly string[];
  /** True when the hook has nothing to do for this write (it is then not run, and the write can join a bundle's set-based statement). */
  idle?: (written: WrittenVersion) => boolean;
  /**
   * The same work as one SQL expression, used for a write outside a transaction so that it stays one statement
   * (no BEGIN/COMMIT and no round trip of its own); `refused` turns the error the expression raises to refuse the
   * write into the FhirError the hook would have thrown (undefined: not its refusal).
   */
  inline?: { expression: (written: WrittenVersion, ctx: FhirContext) => RawBuilder<unknown>; refused: (err: unknown, written: WrittenVersion) => FhirError | undefined };
};

/** The row write itself: returns one row when written, none when the id is taken or the version moved on. */
function rowWrite(v: StoredVersion, previous: StoredVersion | undefined): RawBuilder<unknown> {
  if (!previous) {
    return sql`INSERT INTO resource (resource_type, id, version_id, last_updated, deleted, content, patients)
      VALUES (${v.resourceType}, ${v.id}, ${v.versionId}, ${v.lastUpdated}, ${v.deleted}, ${v.content}, ${v.patients}::text[])
      ON CONFLICT (resource_type, id) DO NOTHING RETURNING 1 AS written`;
  }
  return sql`UPDATE resource SET version_id = ${v.versionId}, last_updated = ${v.lastUpdated}, deleted = ${v.deleted}, content = ${v.content}, patients = ${v.patients}::text[]
    WHERE resource_type = ${v.resourceType} AND id = ${v.id} AND version_id = ${previous.versionId} RETURNING 1 AS written`;
}

/**
 * Runs before the row is written and may amend the version in place (its
 * `content`), e.g. to stamp which unit wrote it; must be idempotent (a
 * compare-and-set retry stamps the rebuilt version again).
 */
export type StampHook = (stored: StoredVersion, ctx: FhirContext) => void;

/** Compare-and-set write of `stored` over `previous`; false when another writer got there first. */
export async function persist(ctx: FhirContext, stored: StoredVersion, previous: StoredVersion | undefined): Promise<boolean> {
  // Before anything reads the version: the index, the hooks (the dispense ledger) and the audit see the stored form of each reference.
  if (stored.content !== null) {
    stored.content = normalizeContentReferences(stored.resourceType, stored.content, ctx.ownBaseUrls ?? [ctx.baseUrl]);
  }
  for (const stampHook of ctx.stampHooks ?? []) stampHook(stored, ctx);
  const written: WrittenVersion = { stored, previous };
  for (const check of ctx.writeChecks ?? []) {
    check(written, ctx);
  }
  const hooks = (ctx.writeHooks ?? []).filter((h) => (!h.types || h.types.includes(stored.resourceType)) && !h.idle?.(written));
  const batch = ctx.writeBatch;
  if (batch) {
    // A first version with no hook to run goes out with the bundle's other creates; anything else sends those first, keeping the order.
    const batched = (ctx.writeStatements ?? []).map((s) => s.batched);
    if (!previous && hooks.length === 0 && batched.every((b) => b !== undefined)) {
      batch.add(written, ctx, batched as BatchedStatement[]);
      ctx.matches?.wrote(written);
      ctx.versions?.wrote(stored);
      return true;
    }
    await batch.flush();
  }
  // Outside a transaction, hooks that have a SQL form run in the write's statement, before the audit row takes its lane's lock.
  const inline = !ctx.db.isTransaction && hooks.length > 0 && hooks.every((h) => h.inline) ? hooks.map((h) => h.inline!) : [];
  const separate = inline.length > 0 ? [] : hooks;
  const extras = [
    ...inline.map((i) => i.expression(written, ctx)),
    ...(ctx.writeStatements ?? []).flatMap((s) => {
      const expression = s(written, ctx);
      return expression ? [expression] : [];
    }),
  ];
  // Each extra reads from `w`, so it runs only when the row was written; the final SELECT forces every CTE.
  const ctes = [sql`w AS (${rowWrite(stored, previous)})`, ...extras.map((e, i) => sql`${sql.id(`x${i}`)} AS (SELECT ${e} FROM w)`)];
  const counts = extras.map((_, i) => sql`(SELECT count(*) FROM ${sql.id(`x${i}`)})`);
  const statement = sql<{ written: string }>`${prepared} WITH ${sql.join(ctes)} SELECT (SELECT count(*) FROM w) AS written${counts.length ? sql`, ${sql.join(counts)}` : sql``}`;
  const run = async (db: Db): Promise<boolean> => {
    const { rows } = await statement.execute(db).catch((err: unknown) => {
      for (const i of inline) {
        const refusal = i.refused(err, written);
        if (refusal) throw refusal;
      }
      throw err;
    });
    if (Number(rows[0]?.written ?? 0) !== 1) {
      return false;
    }
    for (const hook of separate) {
      await hook(db, written, ctx);
    }
    ctx.matches?.wrote(written);
    ctx.versions?.wrote(stored);
    return true;
  };
  return withinDeadline(ctx, run, separate.length > 0 && !ctx.db.isTransaction);
}
