/**
 * The hot query shapes run on indexes: after seeding enough rows (bulk, through the store and index code)
 * and ANALYZE, EXPLAIN of the compiled SQL shows no Seq Scan on the big tables. Planner settings untouched.
 */
import { beforeAll, expect, test } from 'vitest';
import { inject } from 'vitest';
import { sql } from 'kysely';
import { bulkLoad, patientIdentifier, syntheticPatient } from '../../bench/synthetic.ts';
import { loadDefinitions } from '../../src/fhir/definitions.ts';
import { pageQuery } from '../../src/search/compile-search.ts';
import { searchDb } from '../../src/search/index-tables.ts';
import { parseSearch } from '../../src/search/parse-search.ts';
import { connect } from '../../src/store/connect.ts';
import type { Db } from '../../src/store/resource-store.ts';

let db: Db;
const offset = 900_000 + Math.floor(Math.random() * 50_000) * 10;
const patients = 800;

beforeAll(async () => {
  loadDefinitions();
  db = connect({ databaseUrl: inject('databaseUrl'), maxConnections: 2 });
  for (let start = 0; start < patients; start += 200) {
    await bulkLoad(db, Array.from({ length: 200 }, (_, i) => syntheticPatient(offset + start + i)).flat());
  }
  for (const table of ['resource', 'sp_token', 'sp_reference', 'sp_string', 'sp_date']) await sql`ANALYZE ${sql.table(table)}`.execute(db);
  return () => db.destroy();
}, 120_000);

async function plan(type: string, query: Record<string, string>): Promise<string> {
  const compiled = pageQuery(searchDb(db), parseSearch([type], query), { now: new Date() }).query.compile();
  const result = await db.executeQuery<{ 'QUERY PLAN': string }>({ ...compiled, sql: `EXPLAIN ${compiled.sql}` });
  return result.rows.map((r) => r['QUERY PLAN']).join('\n');
}

test.each([
  ['Patient', { identifier: `https://ecu-fhir.org/fhir/sid/expediente|${patientIdentifier(offset + 7)}` }],
  ['Observation', { subject: `Patient/p${offset + 7}` }],
  ['Observation', { subject: `Patient/p${offset + 7}`, code: 'http://loinc.org|8867-4', _sort: '-date', _count: '5' }],
  ['Patient', { family: 'hernandez', birthdate: 'ge1980' }],
  ['Encounter', { patient: `p${offset + 7}`, date: 'ge2020' }],
])('%s %o uses indexes only', async (type, query) => {
  const text = await plan(type, query);
  expect(text, text).not.toMatch(/Seq Scan on (resource|sp_token|sp_reference|sp_date) /);
  expect(text).toMatch(/Index/);
});
