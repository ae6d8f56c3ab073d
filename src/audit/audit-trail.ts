/**
 * Appends audit rows. Writes put their row in their own transaction
 * (`appendIn`), durably. Everything else (reads, searches, refusals,
 * failures) goes through `record`, which group-commits: rows arriving while
 * an insert is in flight are written together by the next one. The caller
 * awaits `record` before answering, so no response leaves the server before
 * its audit row is committed in PostgreSQL: a crash of the API loses only
 * requests that were never answered, and if the row cannot be written the
 * request fails (503); when a group's insert fails, its rows are retried one
 * by one, so only the request whose row cannot be stored fails.
 *
 * Durability: by default (`durable`) a group's commit waits for the WAL
 * flush, so a read answered is a read recorded even if PostgreSQL itself
 * crashes right after (issue 14's fault test crashes it under load; with
 * asynchronous commits a few answered reads lost their rows every time).
 * Group commit keeps that to one flush per group. `fast` skips the wait
 * (about twice the read throughput on the 2-core bench machine) at the price
 * of the reads answered in the ~0.6 s before a database crash.
 */
import { sql } from 'kysely';
import { isDatabaseUnavailable } from '../store/db-errors.ts';
import { prepared } from '../store/prepared.ts';
import type { Db } from '../store/resource-store.ts';
import type { AuditRow } from './audit-event.ts';

interface Pending {
  row: AuditRow;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Flushes in flight at once. One keeps batches large (about 9 rows per flush
 * at 32 busy connections); allowing 4 made batches smaller and cut read
 * throughput by a further quarter on the 2-core bench machine.
 */
const maxInFlight = 1;

export type ReadAuditCommit = 'durable' | 'fast';

export class AuditTrail {
  private readonly db: Db;
  private readonly waitForDisk: boolean;
  private queue: Pending[] = [];
  private inFlight = 0;

  constructor(db: Db, readCommit: ReadAuditCommit = 'durable') {
    this.db = db;
    this.waitForDisk = readCommit === 'durable';
  }

  /** Appends within the caller's transaction: commits or rolls back with it. */
  async appendIn(tx: Db, ...rows: AuditRow[]): Promise<void> {
    await sql`${prepared} SELECT audit_append(${JSON.stringify(rows)}::jsonb, true)`.execute(tx);
  }

  /** Appends on its own; resolves once the row is committed. */
  record(row: AuditRow): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ row, resolve, reject });
      if (this.inFlight < maxInFlight) {
        void this.flush();
      }
    });
  }

  private async append(rows: AuditRow[]): Promise<void> {
    await sql`${prepared} SELECT audit_append(${JSON.stringify(rows)}::jsonb, ${this.waitForDisk})`.execute(this.db);
  }

  private async flush(): Promise<void> {
    this.inFlight++;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, 500);
        try {
          await this.append(batch.map((p) => p.row));
          for (const p of batch) p.resolve();
        } catch (err) {
          if (batch.length === 1 || isDatabaseUnavailable(err)) {
            for (const p of batch) p.reject(err);
            continue;
          }
          // One row the database refuses must not fail the other requests of its group: retry each on its own.
          for (const p of batch) {
            try {
              await this.append([p.row]);
              p.resolve();
            } catch (rowErr) {
              p.reject(rowErr);
            }
          }
        }
      }
    } finally {
      this.inFlight--;
    }
  }
}
