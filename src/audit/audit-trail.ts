/**
 * Appends audit rows. Writes put their row in their own transaction
 * (`appendIn`). Everything else (reads, searches, refusals, failures) goes
 * through `record`, which group-commits: rows arriving while an insert is in
 * flight are written together by the next one. The caller awaits `record`
 * before answering, so the guarantee is: no response leaves the server
 * before its audit row is committed. A crash loses only requests that were
 * never answered; if the row cannot be written, the request fails (503).
 */
import type { Db } from '../store/resource-store.ts';
import type { AuditRow } from './audit-event.ts';

interface Pending {
  row: AuditRow;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class AuditTrail {
  private readonly db: Db;
  private queue: Pending[] = [];
  private flushing = false;

  constructor(db: Db) {
    this.db = db;
  }

  /** Appends within the caller's transaction: commits or rolls back with it. */
  async appendIn(tx: Db, row: AuditRow): Promise<void> {
    await tx.insertInto('audit_event').values(row).execute();
  }

  /** Appends on its own; resolves once the row is committed. */
  record(row: AuditRow): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ row, resolve, reject });
      if (!this.flushing) {
        void this.flush();
      }
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, 500);
      try {
        await this.db.insertInto('audit_event').values(batch.map((p) => p.row)).execute();
        for (const p of batch) p.resolve();
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
    this.flushing = false;
  }
}
