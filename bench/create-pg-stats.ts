/**
 * `node bench/create-pg-stats.ts [seconds]` (after `npm run build`): where PostgreSQL's time goes in a create
 * Patient at 32 connections (issue 21). Its own embedded PostgreSQL runs with pg_stat_statements (nested
 * statements too) and track_functions = 'all'; after the load it prints, per create, each statement's and each
 * function's time and calls, and the lock waits seen while loading (pg_locks sampled every 50 ms).
 * Statement times are wall time inside PostgreSQL, near its CPU when nothing waits.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { connect } from '../src/store/connect.ts';
import { startEmbeddedPostgres } from '../src/store/embedded-postgres.ts';
import { loadDefinitions } from '../src/fhir/definitions.ts';
import { load, startServer } from './harness.ts';
import { mexicanPatient } from './fixtures.ts';

loadDefinitions();
const seconds = Number(process.argv[2] ?? 8);
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
const server = await startServer({ pgDir });
const db = connect({ databaseUrl: server.databaseUrl, maxConnections: 2 });
try {
  await sql`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`.execute(db);
  let next = 0;
  const common = { url: server.url, connections: 32, durationSeconds: 2, rounds: 1, server };
  const request = { method: 'POST' as const, path: '/fhir/Patient', headers: { 'content-type': 'application/fhir+json', ...server.auth }, setupRequest: (req: object) => ({ ...req, body: JSON.stringify(mexicanPatient(next++)) }) };
  await load({ ...common, name: 'create Patient (warm-up)', requests: [request] });
  await sql`SELECT pg_stat_statements_reset()`.execute(db);
  await sql`SELECT pg_stat_reset()`.execute(db);
  const before = next;
  const waits = new Map<string, number>();
  let samples = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const { rows } = await sql<{ what: string; n: string }>`SELECT coalesce(wait_event_type || ':' || wait_event, 'cpu') || ' ' || state AS what, count(*) AS n
        FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND state <> 'idle' GROUP BY 1`.execute(db);
      samples++;
      for (const r of rows) waits.set(r.what, (waits.get(r.what) ?? 0) + Number(r.n));
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  await load({ ...common, durationSeconds: seconds, name: 'create Patient', requests: [request] });
  sampling = false;
  await sampler;
  const creates = next - before;
  console.log(`\n${creates} creates; busy backends per sample (of 32 connections), by wait:`);
  for (const [what, n] of [...waits].sort((a, b) => b[1] - a[1])) console.log(`  ${(n / samples).toFixed(1).padStart(5)}  ${what}`);
  const { rows: statements } = await sql<{ query: string; calls: string; total: number; toplevel: boolean }>`
    SELECT query, calls, total_exec_time AS total, toplevel FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 25`.execute(db);
  console.log('\nµs per create | calls per create | top-level | statement');
  for (const s of statements) console.log(`${((s.total * 1000) / creates).toFixed(0).padStart(6)} | ${(Number(s.calls) / creates).toFixed(2).padStart(5)} | ${s.toplevel ? 'top ' : 'nest'} | ${s.query.replace(/\s+/g, ' ').slice(0, 150)}`);
  const { rows: functions } = await sql<{ funcname: string; calls: string; total: number; self: number }>`
    SELECT funcname, calls, total_time AS total, self_time AS self FROM pg_stat_user_functions ORDER BY total_time DESC LIMIT 15`.execute(db);
  console.log('\nfunction | µs per create total / self | calls per create');
  for (const f of functions) console.log(`${f.funcname.padEnd(32)} ${((f.total * 1000) / creates).toFixed(0).padStart(6)} / ${((f.self * 1000) / creates).toFixed(0).padStart(6)} | ${(Number(f.calls) / creates).toFixed(2)}`);
} finally {
  await db.destroy();
  await server.stop();
}
