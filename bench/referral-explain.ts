/**
 * `BENCH_PG_DIR=<folder> node bench/referral-explain.ts`: on the database a
 * referral bench run kept (bench/referral-run.ts with the same BENCH_PG_DIR),
 * the receiving unit's worklist page query alone, as the compiler writes it:
 * EXPLAIN (ANALYZE, BUFFERS) for one unit, then the planning and execution
 * time of the same query for every receiving unit, so the database's share of
 * the request time is known. The same for the owner-driven shape (the owner's
 * Tasks probed for their status, as before the combined index): written
 * `owner:Organization=recv-N`, which the combined parameter does not answer.
 * Both must find the same Tasks (checked for every unit). Then what the
 * combined rows cost a write: 1,000 Tasks' index rows replaced through
 * sp_replace() with and without their two sp_combo rows (rolled back); and
 * whether the migration's SQL backfill writes exactly the rows the write path
 * wrote for the loaded Tasks (rolled back).
 */
import type { Resource } from '@medplum/fhirtypes';
import { sql } from 'kysely';
import { loadDefinitions } from '../src/fhir/definitions.ts';
import { comboRowsOf } from '../src/search/combo-params.ts';
import { extractIndexValues } from '../src/search/extract-index-values.ts';
import { pageQuery } from '../src/search/compile-search.ts';
import { searchDb } from '../src/search/index-tables.ts';
import { parseSearch } from '../src/search/parse-search.ts';
import { connect } from '../src/store/connect.ts';
import { startEmbeddedPostgres } from '../src/store/embedded-postgres.ts';
import { migrateToLatest } from '../src/store/migrate.ts';
import { receivingUnits } from './scenarios/referral.ts';
import { up as comboMigration } from '../migrations/20261201160000_combo_index.ts';

const dir = process.env.BENCH_PG_DIR;
if (!dir) throw new Error('BENCH_PG_DIR: the folder of a kept referral bench database');
loadDefinitions();
const pg = await startEmbeddedPostgres({ dataDir: dir, persistent: true });
const db = connect({ databaseUrl: pg.url, maxConnections: 1 });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
try {
  await migrateToLatest(db);
  const worklist = (unit: number, combined: boolean) => {
    const owner = combined ? { owner: `Organization/recv-${unit}` } : { 'owner:Organization': `recv-${unit}` };
    const req = parseSearch(['Task'], { ...owner, status: 'requested,received,accepted,in-progress', _sort: '-priority,authored-on' });
    return pageQuery(searchDb(db), req, { now: new Date() }).query.compile();
  };
  for (const combined of [true, false]) {
    const first = worklist(7, combined);
    if (process.env.BENCH_SQL) console.log(first.sql, first.parameters);
    const plan = await db.executeQuery<{ 'QUERY PLAN': string }>({ ...first, sql: `EXPLAIN (ANALYZE, BUFFERS) ${first.sql}` });
    console.log(plan.rows.map((r) => r['QUERY PLAN']).join('\n'));
  }
  const times = { true: { planning: [] as number[], execution: [] as number[], wall: [] as number[] }, false: { planning: [] as number[], execution: [] as number[], wall: [] as number[] } };
  for (let round = 0; round < 2; round++) {
    for (let unit = 0; unit < receivingUnits; unit++) {
      const found: string[][] = [];
      for (const combined of [true, false]) {
        const q = worklist(unit, combined);
        const explained = await db.executeQuery<{ 'QUERY PLAN': { 'Planning Time': number; 'Execution Time': number }[] }>({ ...q, sql: `EXPLAIN (ANALYZE, FORMAT JSON) ${q.sql}` });
        const p = explained.rows[0]!['QUERY PLAN'][0]!;
        const t = times[`${combined}`];
        t.planning.push(p['Planning Time']);
        t.execution.push(p['Execution Time']);
        const started = performance.now();
        const rows = (await db.executeQuery<{ id: string; total: string }>(q)).rows;
        t.wall.push(performance.now() - started);
        found.push([rows[0]?.total ?? '0', ...rows.map((r) => r.id)]);
      }
      if (found[0]!.join() !== found[1]!.join()) throw new Error(`unit ${unit}: the two shapes disagree: ${found[0]!.join()} / ${found[1]!.join()}`);
    }
  }
  for (const combined of [true, false]) {
    const t = times[`${combined}`];
    console.log(`${combined ? 'owner+status combined' : 'owner-driven, status probed'}: all ${receivingUnits} units ×2, median ms: planning ${median(t.planning).toFixed(2)}, execution ${median(t.execution).toFixed(2)}, round trip (no EXPLAIN) ${median(t.wall).toFixed(2)}`);
  }
  const task = (n: number, status: string) =>
    ({ resourceType: 'Task', id: `bench-w-${n}`, status, intent: 'order', priority: 'routine', focus: { reference: `ServiceRequest/sr-${n}` }, for: { reference: `Patient/rp-${n}` }, authoredOn: '2026-03-01T10:00:00Z', requester: { reference: `Organization/ref-${n % 741}` }, owner: { reference: `Organization/recv-${n % 118}` } }) as Resource;
  for (const round of [1, 2]) {
    for (const combined of [false, true]) {
      const calls = Array.from({ length: 1000 }, (_, n) => {
        const rows = extractIndexValues(task(n, 'requested'));
        const present: Record<string, unknown> = Object.fromEntries(Object.entries(rows).filter(([, list]) => list.length > 0));
        if (combined) present.sp_combo = comboRowsOf('Task', rows);
        return JSON.stringify(present);
      });
      const started = performance.now();
      await db.transaction().execute(async (tx) => {
        // First version (nothing to delete), then an update of each (delete and insert), as create then a status move.
        for (const [n, rows] of calls.entries()) await sql`SELECT sp_replace('Task', ${`bench-w-${n}`}, false, ${rows}::jsonb)`.execute(tx);
        for (const [n, rows] of calls.entries()) await sql`SELECT sp_replace('Task', ${`bench-w-${n}`}, true, ${rows}::jsonb)`.execute(tx);
        throw new Error('rollback');
      }).catch((err: Error) => { if (err.message !== 'rollback') throw err; });
      console.log(`round ${round}, ${combined ? 'with' : 'without'} sp_combo rows: ${((performance.now() - started) / 2000 * 1000).toFixed(0)} µs per sp_replace() of a Task (1,000 creates + 1,000 updates)`);
    }
  }
  let differ = -1;
  let backfilled = 0;
  await db.transaction().execute(async (tx) => {
    await sql`ALTER TABLE sp_combo RENAME TO sp_combo_loaded`.execute(tx);
    await sql`ALTER INDEX sp_combo_key RENAME TO sp_combo_loaded_key`.execute(tx);
    await sql`ALTER INDEX sp_combo_by_id RENAME TO sp_combo_loaded_by_id`.execute(tx);
    await comboMigration(tx as unknown as Parameters<typeof comboMigration>[0]);
    const d = await sql<{ n: number; m: number }>`SELECT (SELECT count(*)::int FROM ((TABLE sp_combo EXCEPT ALL TABLE sp_combo_loaded) UNION ALL (TABLE sp_combo_loaded EXCEPT ALL TABLE sp_combo)) x) AS n, (SELECT count(*)::int FROM sp_combo) AS m`.execute(tx);
    differ = d.rows[0]!.n;
    backfilled = d.rows[0]!.m;
    throw new Error('rollback');
  }).catch((err: Error) => { if (err.message !== 'rollback') throw err; });
  console.log(`migration backfill: ${backfilled} sp_combo rows, ${differ} differing from those the write path stored`);
} finally {
  await db.destroy();
  await pg.stop();
}
