/**
 * `node bench/read-pg-stats.ts [seconds]` (after `npm run build`): where PostgreSQL's time goes in a read
 * Patient by id at 32 connections (issue 21). Its own embedded PostgreSQL runs with pg_stat_statements
 * (nested statements too) and track_functions = 'all'; after the load it prints, per read, each statement's
 * time and calls, each function's, and the WAL flushes and commits (pg_stat_wal, pg_stat_database).
 * Statement times are wall time inside PostgreSQL, near its CPU when nothing waits.
 * BENCH_BASELINE=<built checkout>: that checkout's server instead; BENCH_THIS_ENV=K=V,…: extra server environment.
 */
import { sql } from 'kysely';
import { loadDefinitions } from '../src/fhir/definitions.ts';
import { load, post } from './harness.ts';
import { printStats, resetStats, startStatsServer } from './pg-stats.ts';
import { mexicanPatient } from './fixtures.ts';

loadDefinitions();
const seconds = Number(process.argv[2] ?? 6);
const root = process.env.BENCH_BASELINE;
const { server, db } = await startStatsServer({ ...(root ? { root } : {}), env: process.env.BENCH_THIS_ENV ? Object.fromEntries(process.env.BENCH_THIS_ENV.split(',').map((kv) => kv.split('=') as [string, string])) : {} });
try {
  const ids: string[] = [];
  for (let i = 0; i < 500; i++) ids.push((await post(server, '/fhir/Patient', mexicanPatient(i))).id);
  const common = { url: server.url, connections: 32, rounds: 1, server };
  const request = { method: 'GET' as const, headers: server.auth, setupRequest: (req: object) => ({ ...req, path: `/fhir/Patient/${ids[Math.floor(Math.random() * ids.length)]}` }) };
  await load({ ...common, durationSeconds: 2, name: 'read (warm-up)', requests: [request] });
  const count = async () => Number((await sql<{ n: string }>`SELECT count(*) AS n FROM audit_event WHERE subtype = 'read'`.execute(db)).rows[0]?.n);
  const stats = async () => (await sql<{ commits: string; flushes: string; records: string }>`SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()) AS commits, (SELECT sum(fsyncs) FROM pg_stat_io WHERE object = 'wal') AS flushes, (SELECT wal_records FROM pg_stat_wal) AS records`.execute(db)).rows[0]!;
  await resetStats(db);
  const before = await count();
  const s0 = await stats();
  const m = await load({ ...common, durationSeconds: seconds, name: 'read Patient by id', requests: [request] });
  const reads = (await count()) - before;
  const s1 = await stats();
  console.log(`\n${reads} reads (${m.rps} req/s); per read: commits ${((Number(s1.commits) - Number(s0.commits)) / reads).toFixed(2)}, WAL flushes ${((Number(s1.flushes) - Number(s0.flushes)) / reads).toFixed(3)}, WAL records ${((Number(s1.records) - Number(s0.records)) / reads).toFixed(1)}`);
  await printStats(db, reads, 'read', { statements: 20, functions: 10, callDigits: 3 });
} finally {
  await db.destroy();
  await server.stop();
}
