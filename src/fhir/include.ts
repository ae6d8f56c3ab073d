/**
 * _include and _revinclude (https://hl7.org/fhir/R4/search.html#include):
 * resources referenced by, or referring to, the page's matches, found through
 * the reference index; `:iterate` repeats on what was included (a few rounds).
 */
import { sql } from 'kysely';
import type { SearchDb } from '../search/index-tables.ts';
import { rowCondition, type RowAccess } from '../search/row-access.ts';
import type { IncludeSpec } from '../search/search-request.ts';

export interface FoundRow {
  resource_type: string;
  id: string;
  content: string | null;
}

const maxRounds = 4;
const maxIncluded = 1000;

/** `access`: the caller's readable set; what it may not read is never loaded (so never counted or hinted at). */
export async function loadIncludes(db: SearchDb, include: IncludeSpec[], revinclude: IncludeSpec[], matches: FoundRow[], access?: RowAccess): Promise<FoundRow[]> {
  if (include.length === 0 && revinclude.length === 0) return [];
  const seen = new Set(matches.map(key));
  const out: FoundRow[] = [];
  let frontier = matches;
  for (let round = 0; round < maxRounds && frontier.length > 0 && out.length < maxIncluded; round++) {
    const specs = (list: IncludeSpec[]) => (round === 0 ? list : list.filter((s) => s.iterate));
    const found: FoundRow[] = [];
    found.push(...(await forward(db, specs(include), frontier, access)));
    for (const spec of specs(revinclude)) found.push(...(await reverse(db, spec, frontier, access)));
    frontier = [];
    for (const row of found) {
      if (seen.has(key(row)) || out.length >= maxIncluded) continue;
      seen.add(key(row));
      out.push(row);
      frontier.push(row);
    }
  }
  return out;
}

function key(r: { resource_type: string; id: string }): string {
  return `${r.resource_type}/${r.id}`;
}

/** Every forward spec of a round in one statement (one round trip and one plan, however many `_include`s). */
async function forward(db: SearchDb, specs: IncludeSpec[], from: FoundRow[], access: RowAccess | undefined): Promise<FoundRow[]> {
  const terms = specs.flatMap((spec) => {
    const ids = from.filter((r) => r.resource_type === spec.sourceType).map((r) => r.id);
    if (ids.length === 0) return [];
    const target = spec.targetType !== undefined ? sql` AND ref.target_type = ${spec.targetType}` : sql``;
    return [sql`SELECT ref.target_type, ref.target_id FROM sp_reference AS ref WHERE ref.resource_type = ${spec.sourceType} AND ref.param = ${spec.code} AND ref.id = ANY(${ids}::text[]) AND ref.url IS NULL${target}`];
  });
  if (terms.length === 0) return [];
  // A UNION of one index-only read per spec (an OR of them would be a bitmap scan, reading the table's rows).
  const refs = sql<{ target_type: string; target_id: string }>`(SELECT DISTINCT u.target_type, u.target_id FROM (${sql.join(terms, sql` UNION ALL `)}) AS u)`;
  // One target type for all: the readable set as for that type; else as for any type (by the row's own type).
  const types = new Set(specs.map((s) => s.targetType));
  const readable = rowCondition(access, sql`r.resource_type`, sql`r.patients`, types.size === 1 ? [...types][0] : undefined);
  return db
    .selectFrom('resource as r')
    .innerJoin(refs.as('x'), (j) => j.onRef('x.target_type', '=', 'r.resource_type').onRef('x.target_id', '=', 'r.id'))
    .select(['r.resource_type', 'r.id', 'r.content'])
    .where('r.deleted', '=', false)
    .$if(readable !== undefined, (q) => q.where(readable!))
    .limit(maxIncluded)
    .execute();
}

async function reverse(db: SearchDb, spec: IncludeSpec, to: FoundRow[], access: RowAccess | undefined): Promise<FoundRow[]> {
  const byType = new Map<string, string[]>();
  for (const r of to) {
    if (spec.targetType === undefined || spec.targetType === r.resource_type) byType.set(r.resource_type, [...(byType.get(r.resource_type) ?? []), r.id]);
  }
  const out: FoundRow[] = [];
  const readable = rowCondition(access, sql`r.resource_type`, sql`r.patients`, spec.sourceType);
  for (const [type, ids] of byType) {
    const refs = db
      .selectFrom('sp_reference as ref')
      .select(['ref.resource_type', 'ref.id'])
      .distinct()
      .where('ref.resource_type', '=', spec.sourceType)
      .where('ref.param', '=', spec.code)
      .where('ref.target_type', '=', type)
      .where('ref.target_id', '=', sql<string>`ANY(${ids}::text[])`)
      .where('ref.url', 'is', null);
    out.push(
      ...(await db
        .selectFrom('resource as r')
        .innerJoin(refs.as('x'), (j) => j.onRef('x.resource_type', '=', 'r.resource_type').onRef('x.id', '=', 'r.id'))
        .select(['r.resource_type', 'r.id', 'r.content'])
        .where('r.deleted', '=', false)
        .$if(readable !== undefined, (q) => q.where(readable!))
        .limit(maxIncluded)
        .execute()),
    );
  }
  return out;
}
