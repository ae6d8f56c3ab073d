/**
 * Set-based writes for bundles and imports (issue 21). Inside a bundle's (or
 * an import chunk's) transaction, a create without hooks is not sent at once:
 * persist.ts hands it here, and the pending creates go out together as ONE
 * statement of data-modifying CTEs — one multi-row INSERT … SELECT FROM
 * unnest(…) into `resource` (history rows follow by its trigger), one per
 * index table, one audit_append() of every audit row — instead of a round
 * trip per entry. Whatever must read the database first (a search, a read, a
 * conditional match, a write with hooks, an update's compare-and-set) flushes
 * the pending creates before it runs (src/store/pending-writes.ts), so every
 * entry sees what the entries before it wrote, exactly as when each was sent alone.
 *
 * Which write statements can join: those with a `batched` form (persist.ts);
 * a create with one that has none is sent alone. (Subscriptions add nothing
 * here: their fan-out reads the history rows the trigger writes.)
 */
import { sql, type RawBuilder } from 'kysely';
import type { Db, StoredVersion } from '../store/resource-store.ts';
import { clearPending, setPending } from '../store/pending-writes.ts';
import { conflict, isFhirError, type FhirError } from './errors.ts';
import { isDatabaseUnavailable } from '../store/db-errors.ts';
import type { BatchedStatement, WrittenVersion } from './persist.ts';
import type { FhirContext } from './types.ts';

/** Postgres array literal of ids ([A-Za-z0-9.-]: nothing to escape but the quotes added). */
function textArrayLiteral(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`).join(',')}}`;
}

/** A control character, which JSON.stringify writes as an escape (`\n`) that a Postgres array literal would not read back. */
const controlCharacter = /[\u0000-\u001f]/;

/**
 * Postgres array literal of JSON texts, each quoted by JSON.stringify: for a
 * text without control characters (every serialised resource: JSON escapes
 * them) it escapes exactly `"` and `\`, as an array literal needs, in V8's
 * native code — pg's own escaping (two regular-expression passes over every
 * resource) was ~4 % of an import's server time. Undefined (let pg escape) if
 * any text is null or has a control character or a lone surrogate.
 */
export function jsonTextArrayLiteral(values: readonly (string | null)[]): string | undefined {
  // A lone surrogate too comes out as an escape (`\udc00`).
  for (const v of values) if (v === null || controlCharacter.test(v) || !v.isWellFormed()) return undefined;
  return `{${values.map((v) => JSON.stringify(v)).join(',')}}`;
}

interface PendingCreate {
  stored: StoredVersion;
  items: [BatchedStatement, unknown][];
  /** The bundle entry it belongs to (batch bundles: which entry fails if it cannot be written). */
  tag: number | undefined;
}

export interface WriteBatchOptions {
  /**
   * Entries that succeed or fail alone (a batch bundle): the set-based
   * statement runs inside a savepoint; if it fails, each create is written
   * on its own, in its own savepoint, and only those that still fail are
   * reported (`failures`), the others kept. Without it a failure fails the transaction.
   */
  independent?: boolean;
  /**
   * Send the pending creates as soon as this many are waiting, without
   * waiting for the answer: the database writes them while the caller
   * prepares the next ones (an import chunk: the server and PostgreSQL
   * otherwise took turns, each idle half the time). The statements queue on
   * the transaction's one connection, in order; the first failure is thrown
   * by the next flush or close. Only for callers that never `drop` (what is
   * sent cannot be taken back) and whose failure fails the whole transaction;
   * ignored with `independent`.
   */
  sendEvery?: number;
}

export class WriteBatch {
  private pending: PendingCreate[] = [];
  private tag: number | undefined;
  private readonly db: Db;
  private readonly independent: boolean;
  private readonly sendEvery: number;
  /** Statements sent ahead (sendEvery) whose answer is not yet awaited; each settles to its error, if any. */
  private inflight: Promise<unknown>[] = [];
  /** Independent mode: entries (by tag) whose create could not be written; their statements were rolled back. */
  readonly failures = new Map<number, FhirError>();

  constructor(db: Db, options: WriteBatchOptions = {}) {
    this.db = db;
    this.independent = options.independent === true;
    this.sendEvery = this.independent ? Infinity : (options.sendEvery ?? Infinity);
    setPending(db, () => this.flush());
  }

  /** The entry the next creates belong to. */
  setTag(tag: number | undefined): void {
    this.tag = tag;
  }

  /** Takes a create whose every write statement can be batched (persist.ts decides). */
  add(written: WrittenVersion, ctx: FhirContext, statements: readonly BatchedStatement[]): void {
    const items: [BatchedStatement, unknown][] = [];
    for (const s of statements) {
      const item = s.item(written, ctx);
      if (item !== undefined) items.push([s, item]);
    }
    this.pending.push({ stored: written.stored, items, tag: this.tag });
    if (this.pending.length >= this.sendEvery) this.sendAhead();
  }

  /** Forgets what an entry added that is not sent yet (the entry failed after its create was taken). */
  drop(tag: number): void {
    this.pending = this.pending.filter((p) => p.tag !== tag);
  }

  /** Sends what is pending as one statement, and waits for every statement sent ahead (sendEvery). */
  async flush(): Promise<void> {
    if (this.independent) {
      if (this.pending.length === 0) return;
      const list = this.pending;
      this.pending = [];
      if ((await this.guarded(() => this.send(list))) === undefined) return;
      for (const one of list) {
        const failed = await this.guarded(() => this.send([one]));
        if (failed && one.tag !== undefined) this.failures.set(one.tag, failed);
      }
      return;
    }
    // Sent before waiting, so that the rest queues right behind the statements sent ahead.
    if (this.pending.length > 0) this.sendAhead();
    if (this.inflight.length === 0) return;
    const sent = this.inflight;
    this.inflight = [];
    const failure = (await Promise.all(sent)).find((e) => e !== undefined);
    if (failure !== undefined) throw failure;
  }

  private sendAhead(): void {
    const list = this.pending;
    this.pending = [];
    // Settled to its error (not rejected), so that none goes unhandled before the flush that looks at it.
    this.inflight.push(this.send(list).then(() => undefined, (err: unknown) => err ?? new Error('write batch failed')));
  }

  /** Runs `work` in a savepoint: undefined when it succeeded, the entry's error (rolled back) when it failed for the entry's sake. */
  private async guarded(work: () => Promise<void>): Promise<FhirError | undefined> {
    await sql`SAVEPOINT write_batch`.execute(this.db);
    try {
      await work();
      await sql`RELEASE SAVEPOINT write_batch`.execute(this.db);
      return undefined;
    } catch (err) {
      if (isDatabaseUnavailable(err)) throw err;
      await sql`ROLLBACK TO SAVEPOINT write_batch`.execute(this.db);
      await sql`RELEASE SAVEPOINT write_batch`.execute(this.db);
      // A taken id is the entry's conflict; anything else is not the client's doing and fails the request as before.
      if (isFhirError(err)) return err;
      throw err;
    }
  }

  /** One statement of CTEs; a taken id (a practically impossible UUID collision) is a conflict. */
  private async send(list: PendingCreate[]): Promise<void> {
    const versions = list.map((p) => p.stored);
    const items = new Map<BatchedStatement, unknown[]>();
    for (const p of list) {
      for (const [statement, item] of p.items) {
        const into = items.get(statement);
        if (into) into.push(item);
        else items.set(statement, [item]);
      }
    }
    const contents = versions.map((v) => v.content);
    const rows = sql`INSERT INTO resource (resource_type, id, version_id, last_updated, deleted, content, patients)
      SELECT t, i, v, l, false, c, p::text[] FROM unnest(${versions.map((v) => v.resourceType)}::text[], ${versions.map((v) => v.id)}::text[],
        ${versions.map((v) => v.versionId)}::int[], ${versions.map((v) => v.lastUpdated)}::timestamptz[], ${jsonTextArrayLiteral(contents) ?? contents}::text[],
        ${versions.map((v) => textArrayLiteral(v.patients))}::text[]) AS u(t, i, v, l, c, p)
      ON CONFLICT (resource_type, id) DO NOTHING RETURNING 1`;
    const extras: RawBuilder<unknown>[] = [];
    for (const [statement, list] of items) extras.push(...statement.statements(list));
    const ctes = [sql`w AS (${rows})`, ...extras.map((e, i) => sql`${sql.id(`x${i}`)} AS (${e})`)];
    const counts = extras.map((_, i) => sql`(SELECT count(*) FROM ${sql.id(`x${i}`)})`);
    const { rows: result } = await sql<{ written: string }>`WITH ${sql.join(ctes)} SELECT (SELECT count(*) FROM w) AS written${counts.length ? sql`, ${sql.join(counts)}` : sql``}`.execute(this.db);
    if (Number(result[0]?.written ?? 0) !== versions.length) {
      throw conflict({ es: 'Colisión de id al crear; reintente', en: 'Id collision on create; retry' });
    }
  }

  /** Flushes and stops intercepting the transaction's reads. */
  async close(): Promise<void> {
    await this.flush();
    clearPending(this.db);
  }

  /** Drops what is pending (the transaction is rolling back). */
  discard(): void {
    this.pending = [];
    // Statements sent ahead still settle (their errors are kept, not thrown); the transaction's rollback undoes them.
    this.inflight = [];
    clearPending(this.db);
  }
}
