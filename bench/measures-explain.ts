/**
 * `BENCH_PG_DIR=<folder> node bench/measures-explain.ts`: on the database a
 * measures bench run kept (bench/measures-run.ts with the same BENCH_PG_DIR),
 * the SQL of the weekly consultations report by unit × specialty, alone:
 * EXPLAIN (ANALYZE, BUFFERS) of one week, then the time of each of a few other
 * weeks, so the database's share of the request time is known.
 * BENCH_STRATIFIER picks another stratifier (or several, comma-separated).
 */
import { findMeasure } from '../src/measures/definitions.ts';
import { selectStratifiers } from '../src/measures/measure-parameters.ts';
import { measureSql } from '../src/measures/measure-sql.ts';
import { connect } from '../src/store/connect.ts';
import { startEmbeddedPostgres } from '../src/store/embedded-postgres.ts';
import { migrateToLatest } from '../src/store/migrate.ts';

const dir = process.env.BENCH_PG_DIR;
if (!dir) throw new Error('BENCH_PG_DIR: the folder of a kept measures bench database');
const pg = await startEmbeddedPostgres({ dataDir: dir, persistent: true });
const db = connect({ databaseUrl: pg.url, maxConnections: 1 });
try {
  await migrateToLatest(db);
  const def = findMeasure('consultas')!;
  const sets = selectStratifiers(def, (process.env.BENCH_STRATIFIER ?? 'unidad-especialidad').split(',')).map((s) => s.dimensions);
  const weekOf = (n: number) => {
    const from = new Date(Date.UTC(2026, 0, 5) + n * 7 * 86_400_000);
    return { from, to: new Date(from.getTime() + 7 * 86_400_000) };
  };
  const query = (n: number) => measureSql(def, { ...weekOf(n), now: new Date(), sets }).compile(db);
  const first = query(12);
  const plan = await db.executeQuery<{ 'QUERY PLAN': string }>({ ...first, sql: `EXPLAIN (ANALYZE, BUFFERS) ${first.sql}` });
  console.log(plan.rows.map((r) => r['QUERY PLAN']).join('\n'));
  const times: number[] = [];
  for (const n of [14, 17, 20, 23, 26, 29, 32]) {
    const started = performance.now();
    const rows = await db.executeQuery(query(n));
    times.push(Math.round(performance.now() - started));
    if (rows.rows.length === 0) throw new Error('no rows: is the database loaded?');
  }
  const sorted = [...times].sort((a, b) => a - b);
  console.log(`SQL alone, 7 other weeks (ms): ${times.join(', ')}; median ${sorted[3]}`);
} finally {
  await db.destroy();
  await pg.stop();
}
