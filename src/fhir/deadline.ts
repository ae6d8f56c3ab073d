/**
 * A request's time limit, as the FHIR core sees it. The HTTP layer answers
 * 503 when `at` passes (http/request-timeout.ts), so no write of the request
 * may commit after that: every connection's statement_timeout (`statementMs`)
 * bounds a write that starts early enough, and a write that starts later runs
 * in a transaction whose statement timeout is the time left. A transaction
 * bundle checks the deadline once more before it commits.
 */
import { sql } from 'kysely';
import { timedOut } from './errors.ts';
import type { FhirContext } from './types.ts';
import type { Db } from '../store/resource-store.ts';

export interface Deadline {
  /** Epoch ms at which the request is answered 503. */
  at: number;
  /** The request time limit (for the message). */
  limitMs: number;
  /** statement_timeout of the API's connections. */
  statementMs: number;
}

/** Time kept in hand for the commit and the answer. */
const marginMs = 100;

/** Throws the 503 timeout when too little time is left to start (or commit) database work. */
export function checkDeadline(ctx: FhirContext): void {
  const d = ctx.deadline;
  if (d && d.at - Date.now() <= marginMs) throw timedOut(d.limitMs);
}

/** Runs a write so that it cannot commit after the deadline (see above). */
export async function withinDeadline<T>(ctx: FhirContext, run: (db: Db) => Promise<T>, inTransaction: boolean): Promise<T> {
  const d = ctx.deadline;
  if (!d) return inTransaction ? ctx.db.transaction().execute(run) : run(ctx.db);
  const left = d.at - Date.now() - marginMs;
  if (left <= 0) throw timedOut(d.limitMs);
  // Started early enough: the connection's own statement timeout ends it in time. The common case costs nothing more.
  if (left >= d.statementMs) return inTransaction ? ctx.db.transaction().execute(run) : run(ctx.db);
  const bounded = async (db: Db) => {
    await sql`SELECT set_config('statement_timeout', ${String(Math.floor(left))}, true)`.execute(db);
    return run(db);
  };
  return ctx.db.isTransaction ? bounded(ctx.db) : ctx.db.transaction().execute(bounded);
}
