/**
 * Many token matches in one round trip (issue 21): a bundle's conditional
 * references and `ifNoneExist` criteria that are one token value each
 * (`Location?identifier=system|code`, the Synthea shape) are looked up
 * together, as (type, param, system, code) tuples unnested and joined to
 * `sp_token`. Each tuple's lookup is a LATERAL subquery with a LIMIT, so it
 * can only run as an index probe of `sp_token_code` per tuple and then a
 * primary-key fetch of each resource (the same plan whatever the statistics
 * say, as in compile-driver.ts); the caller's readable set is ANDed in on the
 * resource row, so a tuple never matches what the caller may not read.
 * The semantics are tokenCond's: code equal; system equal, absent ("|code"),
 * or anything ("code").
 */
import { sql, type RawBuilder } from 'kysely';
import { flushPending } from '../store/pending-writes.ts';
import type { Db } from '../store/resource-store.ts';
import { rowCondition, type RowAccess } from './row-access.ts';
import type { TokenValue } from './search-request.ts';

export interface TokenMatch {
  type: string;
  param: string;
  value: TokenValue & { code: string };
}

/** How a tuple's system is compared: 'eq' (= system), 'null' (no system), 'any'. */
export function systemMode(v: TokenValue): 'eq' | 'null' | 'any' {
  return v.system === undefined ? 'any' : v.system === null ? 'null' : 'eq';
}

/** The statement: one row (k = the tuple's 1-based position, id) per match, at most `limit` per tuple. */
export function matchTokensQuery(tuples: readonly TokenMatch[], access: RowAccess | undefined, limit = 2): RawBuilder<{ k: string; id: string }> {
  const readable = rowCondition(access, sql`r.resource_type`, sql`r.patients`);
  return sql<{ k: string; id: string }>`SELECT u.k, m.id
    FROM unnest(${tuples.map((t) => t.type)}::text[], ${tuples.map((t) => t.param)}::text[], ${tuples.map((t) => t.value.system ?? null)}::text[],
      ${tuples.map((t) => t.value.code)}::text[], ${tuples.map((t) => systemMode(t.value))}::text[]) WITH ORDINALITY AS u(rt, param, system, code, mode, k)
    CROSS JOIN LATERAL (
      SELECT d.id FROM (
        SELECT DISTINCT t.id FROM sp_token AS t
        WHERE t.resource_type = u.rt AND t.param = u.param AND t.code = u.code
          AND CASE u.mode WHEN 'any' THEN true WHEN 'null' THEN t.system IS NULL ELSE t.system = u.system END
      ) AS d
      CROSS JOIN LATERAL (SELECT * FROM resource WHERE resource_type = u.rt AND id = d.id OFFSET 0) AS r
      WHERE NOT r.deleted${readable ? sql` AND ${readable}` : sql``}
      LIMIT ${limit}
    ) AS m`;
}

/** For each tuple, the ids of up to `limit` readable current resources it matches (in tuple order). */
export async function matchTokens(db: Db, tuples: readonly TokenMatch[], access: RowAccess | undefined, limit = 2): Promise<string[][]> {
  const out = tuples.map((): string[] => []);
  if (tuples.length === 0) return out;
  await flushPending(db);
  const { rows } = await matchTokensQuery(tuples, access, limit).execute(db);
  for (const row of rows) out[Number(row.k) - 1]?.push(row.id);
  return out;
}
