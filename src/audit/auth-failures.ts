/**
 * Failed authentications are audited at most once per client address per
 * interval, with a count, so that a flood of bad tokens cannot flood the
 * audit trail. The count is shared by every instance (the `rate_limit`
 * table): the first failure of an interval is audited and carries how many
 * failures the address had in the interval before.
 */
import { sql } from 'kysely';
import type { Db } from '../store/resource-store.ts';

export async function countAuthFailure(db: Db, address: string, intervalMs: number, now = Date.now()): Promise<{ audit: boolean; previous: number }> {
  const window = Math.floor(now / intervalMs) * intervalMs;
  const key = `authfail:${address}`;
  const { rows } = await sql<{ hits: number; previous: number | null }>`
    WITH up AS (
      INSERT INTO rate_limit (key, window_start, hits) VALUES (${key}, ${new Date(window).toISOString()}::timestamptz, 1)
      ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_limit.hits + 1 RETURNING hits)
    SELECT (SELECT hits FROM up) AS hits,
      (SELECT hits FROM rate_limit WHERE key = ${key} AND window_start = ${new Date(window - intervalMs).toISOString()}::timestamptz) AS previous`.execute(db);
  const row = rows[0];
  return { audit: Number(row?.hits ?? 1) === 1, previous: Number(row?.previous ?? 0) };
}
