/**
 * Plans that do not depend on fresh statistics (issue 21): statistics are
 * taken while the tables hold no Location (autovacuum off, so they stay that
 * old: first on empty tables, then again with 20,000 Patients, as on a
 * server that already holds patients when its support data arrives), then
 * 10,000 Locations are loaded. The hot shapes (identifier match, as
 * conditional create and conditional references run it; reference match;
 * `_id`) must still start from the selective index and never walk the
 * type's resources (by primary key or otherwise) probing index rows for
 * each: EXPLAIN ANALYZE shows neither a seq scan nor a scan of `resource`
 * that reads more than a handful of rows, and the searches stay fast.
 */
import { sql, type CompiledQuery } from 'kysely';
import type { Resource } from '@medplum/fhirtypes';
import { beforeAll, expect, inject, test } from 'vitest';
import { bulkLoad } from '../../bench/synthetic.ts';
import { loadDefinitions } from '../../src/fhir/definitions.ts';
import { pageQuery } from '../../src/search/compile-search.ts';
import { searchDb } from '../../src/search/index-tables.ts';
import { parseSearch } from '../../src/search/parse-search.ts';
import { runPage } from '../../src/search/run-search.ts';
import { matchTokens, matchTokensQuery } from '../../src/search/match-tokens.ts';
import { connect } from '../../src/store/connect.ts';
import type { Db } from '../../src/store/resource-store.ts';
import { createOwnDatabase } from '../support/own-database.ts';

const tables = ['resource', 'resource_history', 'sp_string', 'sp_token', 'sp_date', 'sp_number', 'sp_quantity', 'sp_reference', 'sp_uri'];
const system = 'https://ecu-fhir.org/fhir/sid/clues-location';
const locations = 10_000;
let db: Db;

function location(i: number): Resource {
  return {
    resourceType: 'Location',
    id: `loc${i}`,
    identifier: [{ system, value: `L${String(i).padStart(6, '0')}` }],
    status: 'active',
    name: `Consultorio ${i}`,
    managingOrganization: { reference: `Organization/org${i % 40}` },
  } as Resource;
}

beforeAll(async () => {
  loadDefinitions();
  db = connect({ databaseUrl: await createOwnDatabase(inject('databaseUrl')), maxConnections: 2 });
  for (const table of tables) {
    await sql`ALTER TABLE ${sql.table(table)} SET (autovacuum_enabled = false)`.execute(db);
    await sql`ANALYZE ${sql.table(table)}`.execute(db);
  }
  for (let start = 0; start < 20_000; start += 2000) {
    await bulkLoad(db, Array.from({ length: 2000 }, (_, i) => ({ resourceType: 'Patient', id: `pat${start + i}`, identifier: [{ system, value: `P${start + i}` }], name: [{ family: 'López' }], managingOrganization: { reference: `Organization/org${i % 40}` } }) as Resource));
  }
  for (const table of tables) await sql`ANALYZE ${sql.table(table)}`.execute(db);
  for (let start = 0; start < locations; start += 1000) {
    await bulkLoad(db, Array.from({ length: 1000 }, (_, i) => location(start + i)));
  }
  return () => db.destroy();
}, 300_000);

function compiled(query: Record<string, string>): CompiledQuery {
  return pageQuery(searchDb(db), parseSearch(['Location'], query), { now: new Date() }).query.compile();
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  Plans?: PlanNode[];
}

async function analyze(query: CompiledQuery): Promise<PlanNode> {
  // The bad plan takes tens of seconds here: cut it short, so the test fails fast and says why.
  return db.transaction().execute(async (tx) => {
    await sql`SET LOCAL statement_timeout = '3s'`.execute(tx);
    const result = await tx.executeQuery<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>({ ...query, sql: `EXPLAIN (ANALYZE, FORMAT JSON) ${query.sql}` });
    return result.rows[0]!['QUERY PLAN'][0].Plan;
  });
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

/** Name, query, and how many resources match it. */
const shapes: [string, Record<string, string>, number][] = [
  ['identifier (search, conditional create, conditional reference)', { identifier: `${system}|L004321`, _count: '2' }, 1],
  ['identifier without system', { identifier: 'L009876' }, 1],
  // 250 Locations name org7: reading those 250 (not the 10,000) is the point.
  ['reference', { organization: 'Organization/org7', _count: '20' }, 250],
  ['_id', { _id: 'loc777' }, 1],
];

test.each(shapes)('%s starts from its index with stale statistics', async (_name, query, matches) => {
  const plan = await analyze(compiled(query));
  const all = nodes(plan);
  const text = JSON.stringify(plan, null, 1);
  expect(all.filter((n) => n['Node Type'] === 'Seq Scan'), text).toEqual([]);
  // Scans of resource read only the matches (rows × loops), never the 10,000 of the type.
  for (const n of all.filter((n) => n['Relation Name'] === 'resource')) {
    expect((n['Actual Rows'] ?? 0) * (n['Actual Loops'] ?? 1), text).toBeLessThanOrEqual(matches + 5);
  }
  for (const n of all.filter((n) => n['Relation Name']?.startsWith('sp_'))) {
    expect(n['Actual Loops'] ?? 1, `index rows probed once per resource of the type:\n${text}`).toBeLessThanOrEqual(matches + 5);
  }
});

test('each identifier search stays under 5 ms (median of 20)', async () => {
  const median = async () => {
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const parsed = parseSearch(['Location'], { identifier: `${system}|L${String((i * 397) % locations).padStart(6, '0')}`, _count: '2' });
      const t0 = performance.now();
      const page = await runPage(db, parsed, { now: new Date() });
      times.push(performance.now() - t0);
      expect(page.rows).toHaveLength(1);
    }
    return times.sort((a, b) => a - b)[10]!;
  };
  // Generous retries: the machine is shared; a bad plan takes tens of ms every time, not now and then.
  let best = Infinity;
  for (let attempt = 0; attempt < 5 && best >= 5; attempt++) best = Math.min(best, await median());
  expect(best).toBeLessThan(5);
});

test('a bundle’s identifiers matched together (one query for 500 criteria) start from sp_token_code per criterion', async () => {
  const tuples = Array.from({ length: 500 }, (_, i) => ({ type: 'Location', param: 'identifier', value: { system, code: `L${String((i * 19) % (2 * locations)).padStart(6, '0')}` } }));
  const plan = await analyze(matchTokensQuery(tuples, undefined).compile(db));
  const all = nodes(plan);
  const text = JSON.stringify(plan, null, 1);
  expect(all.filter((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] !== undefined), text).toEqual([]);
  const found = tuples.filter((t) => Number(t.value.code.slice(1)) < locations).length;
  for (const n of all.filter((n) => n['Relation Name'] === 'resource')) expect((n['Actual Rows'] ?? 0) * (n['Actual Loops'] ?? 1), text).toBeLessThanOrEqual(found + 5);
  const ids = await matchTokens(db, tuples, undefined);
  expect(ids.filter((m) => m.length === 1)).toHaveLength(found);
  expect(ids.every((m) => m.length <= 1)).toBe(true);
  // Generous for a shared machine; the walk-the-type plan takes seconds here.
  let best = Infinity;
  for (let attempt = 0; attempt < 3 && best >= 250; attempt++) {
    const t0 = performance.now();
    await matchTokens(db, tuples, undefined);
    best = Math.min(best, performance.now() - t0);
  }
  expect(best).toBeLessThan(250);
});
