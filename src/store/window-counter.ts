/**
 * Fixed-window counters shared by every instance through the `rate_limit`
 * table, without a round trip per request: each instance counts locally and
 * adds its counts to the table in one UPSERT per flush (every `flushMs`), and
 * learns the global totals from it. Once a key passes half its limit the
 * counts are flushed before answering, so near the limit the decision is
 * made on the global figure; below it, a request costs a map lookup.
 */
import { sql } from 'kysely';
import type { Db } from './resource-store.ts';

interface Entry {
  window: number;
  /** Global hits as of the last flush (this instance's flushed ones included). */
  known: number;
  /** Hits of this instance not flushed yet. */
  pending: number;
}

export interface WindowCounterOptions {
  windowMs: number;
  /** Longest a count stays local. Default 1 s. */
  flushMs?: number;
  log?: (err: unknown) => void;
}

export class WindowCounter {
  private readonly db: Db;
  private readonly windowMs: number;
  private readonly flushMs: number;
  private readonly log: (err: unknown) => void;
  private readonly entries = new Map<string, Entry>();
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private cleaned = 0;

  constructor(db: Db, options: WindowCounterOptions) {
    this.db = db;
    this.windowMs = options.windowMs;
    this.flushMs = options.flushMs ?? 1000;
    this.log = options.log ?? (() => undefined);
  }

  /** Counts one hit on `key`; the hits in the current window (all instances) and the ms until it ends. */
  async hit(key: string, limit: number, now = Date.now()): Promise<{ count: number; resetMs: number }> {
    const window = Math.floor(now / this.windowMs) * this.windowMs;
    let entry = this.entries.get(key);
    if (!entry || entry.window !== window) {
      entry = { window, known: 0, pending: 0 };
      this.entries.set(key, entry);
    }
    entry.pending += 1;
    if (entry.known + entry.pending > limit / 2) await this.flush();
    else this.schedule();
    return { count: entry.known + entry.pending, resetMs: window + this.windowMs - now };
  }

  /** Sends every local count now (also called on close). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (![...this.entries.values()].some((e) => e.pending > 0)) return;
    this.flushing = this.send().finally(() => (this.flushing = undefined));
    await this.flushing;
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush().catch(this.log);
    }, this.flushMs);
    this.timer.unref();
  }

  private async send(): Promise<void> {
    const batch = [...this.entries].filter(([, e]) => e.pending > 0).map(([key, e]) => ({ key, entry: e, hits: e.pending }));
    for (const b of batch) b.entry.pending -= b.hits;
    try {
      const { rows } = await sql<{ key: string; hits: number }>`
        INSERT INTO rate_limit (key, window_start, hits)
        SELECT * FROM unnest(${batch.map((b) => b.key)}::text[], ${batch.map((b) => new Date(b.entry.window).toISOString())}::timestamptz[], ${batch.map((b) => b.hits)}::int[])
        ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_limit.hits + EXCLUDED.hits
        RETURNING key, hits`.execute(this.db);
      const totals = new Map(rows.map((r) => [r.key, Number(r.hits)]));
      for (const b of batch) b.entry.known = Math.max(b.entry.known, totals.get(b.key) ?? 0);
    } catch (err) {
      // Counts are kept for the next flush; the limit fails open rather than refusing everyone.
      for (const b of batch) b.entry.pending += b.hits;
      this.log(err);
      return;
    }
    await this.forgetOldWindows();
  }

  private async forgetOldWindows(): Promise<void> {
    const current = Math.floor(Date.now() / this.windowMs) * this.windowMs;
    for (const [key, e] of this.entries) if (e.window < current && e.pending === 0) this.entries.delete(key);
    if (this.cleaned === current) return;
    this.cleaned = current;
    await sql`DELETE FROM rate_limit WHERE window_start < ${new Date(current - this.windowMs).toISOString()}::timestamptz`.execute(this.db);
  }
}
