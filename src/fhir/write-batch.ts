/**
 * Set-based writes for transaction bundles (issue 21). Inside a bundle's
 * transaction, a create without hooks is not sent at once: persist.ts hands
 * it here, and the pending creates go out together as ONE statement of
 * data-modifying CTEs — one multi-row INSERT … SELECT FROM unnest(…) into
 * `resource` (history rows follow by its trigger), one per index table, one
 * audit_append() of every audit row — instead of a round trip per entry.
 * Whatever must read the database first (a search, a read, a conditional
 * match, a write with hooks, an update's compare-and-set) flushes the pending
 * creates before it runs (src/store/pending-writes.ts), so every entry sees
 * what the entries before it wrote, exactly as when each was sent alone.
 */
import { sql, type RawBuilder } from 'kysely';
import type { Db, StoredVersion } from '../store/resource-store.ts';
import { clearPending, setPending } from '../store/pending-writes.ts';
import { conflict } from './errors.ts';
import type { BatchedStatement, WrittenVersion } from './persist.ts';
import type { FhirContext } from './types.ts';

/** Postgres array literal of ids ([A-Za-z0-9.-]: nothing to escape but the quotes added). */
function textArrayLiteral(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`).join(',')}}`;
}

export class WriteBatch {
  private versions: StoredVersion[] = [];
  private items = new Map<BatchedStatement, unknown[]>();
  private readonly db: Db;

  constructor(db: Db) {
    this.db = db;
    setPending(db, () => this.flush());
  }

  /** Takes a create whose every write statement can be batched; false otherwise (the caller writes it at once). */
  add(written: WrittenVersion, ctx: FhirContext, statements: readonly BatchedStatement[]): void {
    this.versions.push(written.stored);
    for (const s of statements) {
      const item = s.item(written, ctx);
      if (item === undefined) continue;
      const list = this.items.get(s);
      if (list) list.push(item);
      else this.items.set(s, [item]);
    }
  }

  /** Sends what is pending as one statement; a taken id (a practically impossible UUID collision) fails the transaction. */
  async flush(): Promise<void> {
    if (this.versions.length === 0) return;
    const versions = this.versions;
    const items = this.items;
    this.versions = [];
    this.items = new Map();
    const rows = sql`INSERT INTO resource (resource_type, id, version_id, last_updated, deleted, content, patients)
      SELECT t, i, v, l, false, c, p::text[] FROM unnest(${versions.map((v) => v.resourceType)}::text[], ${versions.map((v) => v.id)}::text[],
        ${versions.map((v) => v.versionId)}::int[], ${versions.map((v) => v.lastUpdated)}::timestamptz[], ${versions.map((v) => v.content)}::text[],
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
    this.versions = [];
    this.items = new Map();
    clearPending(this.db);
  }
}
