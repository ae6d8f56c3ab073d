/**
 * The hot query shapes run on indexes: after seeding enough rows (bulk, through the store and index code)
 * and ANALYZE, EXPLAIN of the compiled SQL shows no Seq Scan on the big tables. Planner settings untouched.
 */
import { beforeAll, expect, test } from 'vitest';
import { inject } from 'vitest';
import { sql, type CompiledQuery } from 'kysely';
import { bulkLoad, patientIdentifier, syntheticPatient } from '../../bench/synthetic.ts';
import { loadDefinitions } from '../../src/fhir/definitions.ts';
import { loadIncludes } from '../../src/fhir/include.ts';
import { pageQuery } from '../../src/search/compile-search.ts';
import { searchDb } from '../../src/search/index-tables.ts';
import { parseSearch } from '../../src/search/parse-search.ts';
import { runPage } from '../../src/search/run-search.ts';
import { connect } from '../../src/store/connect.ts';
import type { Db } from '../../src/store/resource-store.ts';

let db: Db;
const offset = 900_000 + Math.floor(Math.random() * 50_000) * 10;
const patients = 800;
// Every index table, so a shape that starts scanning one the list forgot (sp_string once was) cannot pass unseen.
const indexTables = ['sp_string', 'sp_token', 'sp_date', 'sp_number', 'sp_quantity', 'sp_reference', 'sp_uri'];
const seqScan = /Seq Scan on (resource|sp_\w+) /;
// bench/synthetic.ts makes every third patient's prescription stopped; the include shape needs an active one.
const prescribed = offset + 7 + ((offset + 7) % 3 === 0 ? 1 : 0);

beforeAll(async () => {
  loadDefinitions();
  db = connect({ databaseUrl: inject('databaseUrl'), maxConnections: 2 });
  for (let start = 0; start < patients; start += 200) {
    await bulkLoad(db, Array.from({ length: 200 }, (_, i) => syntheticPatient(offset + start + i)).flat());
  }
  for (const table of ['resource', ...indexTables]) await sql`ANALYZE ${sql.table(table)}`.execute(db);
  return () => db.destroy();
}, 120_000);

async function plan(type: string, query: Record<string, string>): Promise<string> {
  return explain(pageQuery(searchDb(db), parseSearch([type], query), { now: new Date() }).query.compile());
}

async function explain(compiled: CompiledQuery): Promise<string> {
  const result = await db.executeQuery<{ 'QUERY PLAN': string }>({ ...compiled, sql: `EXPLAIN ${compiled.sql}` });
  return result.rows.map((r) => r['QUERY PLAN']).join('\n');
}

test.each([
  ['Patient', { identifier: `https://ecu-fhir.org/fhir/sid/expediente|${patientIdentifier(offset + 7)}` }],
  ['Observation', { subject: `Patient/p${offset + 7}` }],
  ['Observation', { subject: `Patient/p${offset + 7}`, code: 'http://loinc.org|8867-4', _sort: '-date', _count: '5' }],
  ['Patient', { family: 'hernandez', birthdate: 'ge1980' }],
  ['Encounter', { patient: `p${offset + 7}`, date: 'ge2020' }],
  ['Patient', { _id: `p${offset + 7}`, '_has:Observation:subject:code': 'http://loinc.org|8867-4' }],
  ['MedicationRequest', { patient: `p${prescribed}`, status: 'active', _include: 'MedicationRequest:medication' }],
])('%s %o uses indexes only', async (type, query) => {
  const text = await plan(type, query);
  expect(text, text).not.toMatch(seqScan);
  expect(text).toMatch(/Index/);
});

test('the _include of MedicationRequest?patient=…&status=active uses indexes only', async () => {
  const parsed = parseSearch(['MedicationRequest'], { patient: `p${prescribed}`, status: 'active', _include: 'MedicationRequest:medication' });
  const page = await runPage(db, parsed, { now: new Date() });
  expect(page.rows.map((r) => r.id)).toEqual([`p${prescribed}-m0`]);
  // loadIncludes builds and runs its queries itself, so a plugin keeps each one it ran to be explained here.
  // Subqueries pass through transformQuery too; only queries that come back with a result were executed.
  const built = new Map<object, CompiledQuery>();
  const issued: CompiledQuery[] = [];
  const capturing = searchDb(db).withPlugin({
    transformQuery: (args) => {
      built.set(args.queryId, db.getExecutor().compileQuery(args.node, args.queryId));
      return args.node;
    },
    transformResult: async (args) => {
      issued.push(built.get(args.queryId)!);
      return args.result;
    },
  });
  await loadIncludes(capturing, parsed.include, parsed.revinclude, page.rows);
  expect(issued).toHaveLength(1);
  for (const query of issued) {
    const text = await explain(query);
    expect(text, text).not.toMatch(seqScan);
    expect(text).toMatch(/Index/);
  }
});
