/**
 * `node bench/read-pg-stats.ts [seconds]` (after `npm run build`): where PostgreSQL's time goes in a read
 * Patient by id at 32 connections (issue 21). Its own embedded PostgreSQL runs with pg_stat_statements
 * (nested statements too) and track_functions = 'all'; after the load it prints, per read, each statement's
 * time and calls, each function's, and the WAL flushes and commits (pg_stat_wal, pg_stat_database).
 * Statement times are wall time inside PostgreSQL, near its CPU when nothing waits.
 * BENCH_BASELINE=<built checkout>: that checkout's server instead; BENCH_THIS_ENV=K=V,…: extra server environment.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { connect } from '../src/store/connect.ts';
import { startEmbeddedPostgres } from '../src/store/embedded-postgres.ts';
import { loadDefinitions } from '../src/fhir/definitions.ts';
import { load, post, startServer } from './harness.ts';
import { mexicanPatient } from './fixtures.ts';

loadDefinitions();
const seconds = Number(process.argv[2] ?? 6);
const pgDir = await mkdtemp(path.join(os.tmpdir(), 'ecu-bench-pgstats-'));
{
  // Preload settings need a restart: set them, stop, and let startServer start the same folder again.
  const first = await startEmbeddedPostgres({ dataDir: pgDir, persistent: true });
  const db = connect({ databaseUrl: first.url, maxConnections: 1 });
  await sql`ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'`.execute(db);
  await sql`ALTER SYSTEM SET track_functions = 'all'`.execute(db);
  await sql`ALTER SYSTEM SET pg_stat_statements.track = 'all'`.execute(db);
  await db.destroy();
  await first.stop();
}
const root = process.env.BENCH_BASELINE;
const server = await startServer({ pgDir, ...(root ? { root } : {}), env: process.env.BENCH_THIS_ENV ? Object.fromEntries(process.env.BENCH_THIS_ENV.split(',').map((kv) => kv.split('=') as [string, string])) : {} });
const db = connect({ databaseUrl: server.databaseUrl, maxConnections: 2 });
try {
  await sql`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`.execute(db);
  const ids: string[] = [];
  for (let i = 0; i < 500; i++) ids.push((await post(server, '/fhir/Patient', mexicanPatient(i))).id);
  const common = { url: server.url, connections: 32, rounds: 1, server };
  const request = { method: 'GET' as const, headers: server.auth, setupRequest: (req: object) => ({ ...req, path: `/fhir/Patient/${ids[Math.floor(Math.random() * ids.length)]}` }) };
  await load({ ...common, durationSeconds: 2, name: 'read (warm-up)', requests: [request] });
  const count = async () => Number((await sql<{ n: string }>`SELECT count(*) AS n FROM audit_event WHERE subtype = 'read'`.execute(db)).rows[0]?.n);
  const stats = async () => (await sql<{ commits: string; flushes: string; records: string }>`SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()) AS commits, (SELECT sum(fsyncs) FROM pg_stat_io WHERE object = 'wal') AS flushes, (SELECT wal_records FROM pg_stat_wal) AS records`.execute(db)).rows[0]!;
  await sql`SELECT pg_stat_statements_reset()`.execute(db);
  await sql`SELECT pg_stat_reset()`.execute(db);
    const before = await count();
  const s0 = await stats();
  const m = await load({ ...common, durationSeconds: seconds, name: 'read Patient by id', requests: [request] });
  const reads = (await count()) - before;
  const s1 = await stats();
  console.log(`\n${reads} reads (${m.rps} req/s); per read: commits ${((Number(s1.commits) - Number(s0.commits)) / reads).toFixed(2)}, WAL flushes ${((Number(s1.flushes) - Number(s0.flushes)) / reads).toFixed(3)}, WAL records ${((Number(s1.records) - Number(s0.records)) / reads).toFixed(1)}`);
  const { rows: statements } = await sql<{ query: string; calls: string; total: number; toplevel: boolean }>`
    SELECT query, calls, total_exec_time AS total, toplevel FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 20`.execute(db);
  console.log('\nµs per read | calls per read | top-level | statement');
  for (const s of statements) console.log(`${((s.total * 1000) / reads).toFixed(0).padStart(6)} | ${(Number(s.calls) / reads).toFixed(3).padStart(6)} | ${s.toplevel ? 'top ' : 'nest'} | ${s.query.replace(/\s+/g, ' ').slice(0, 150)}`);
  const { rows: functions } = await sql<{ funcname: string; calls: string; total: number; self: number }>`
    SELECT funcname, calls, total_time AS total, self_time AS self FROM pg_stat_user_functions ORDER BY total_time DESC LIMIT 10`.execute(db);
  console.log('\nfunction | µs per read total / self | calls per read');
  for (const f of functions) console.log(`${f.funcname.padEnd(32)} ${((f.total * 1000) / reads).toFixed(0).padStart(6)} / ${((f.self * 1000) / reads).toFixed(0).padStart(6)} | ${(Number(f.calls) / reads).toFixed(3)}`);
} finally {
  await db.destroy();
  await server.stop();
}
