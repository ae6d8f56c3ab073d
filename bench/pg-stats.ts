/**
 * What create-pg-stats.ts and read-pg-stats.ts share: a bench server on its own
 * embedded PostgreSQL with pg_stat_statements (nested statements too) and
 * track_functions = 'all', and the per-request tables they print after a load.
 * Statement times are wall time inside PostgreSQL, near its CPU when nothing waits.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { connect } from '../src/store/connect.ts';
import { startEmbeddedPostgres } from '../src/store/embedded-postgres.ts';
import { startServer } from './harness.ts';

type Db = ReturnType<typeof connect>;

export async function startStatsServer(options: Omit<Parameters<typeof startServer>[0] & object, 'pgDir'> = {}): Promise<{ server: Awaited<ReturnType<typeof startServer>>; db: Db }> {
  const pgDir = await mkdtemp(path.join(os.tmpdir(), 'ecu-bench-pgstats-'));
  // Preload settings need a restart: set them, stop, and let startServer start the same folder again.
  const first = await startEmbeddedPostgres({ dataDir: pgDir, persistent: true });
  const setup = connect({ databaseUrl: first.url, maxConnections: 1 });
  await sql`ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'`.execute(setup);
  await sql`ALTER SYSTEM SET track_functions = 'all'`.execute(setup);
  await sql`ALTER SYSTEM SET pg_stat_statements.track = 'all'`.execute(setup);
  await setup.destroy();
  await first.stop();
  const server = await startServer({ ...options, pgDir });
  const db = connect({ databaseUrl: server.databaseUrl, maxConnections: 2 });
  await sql`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`.execute(db);
  return { server, db };
}

export async function resetStats(db: Db): Promise<void> {
  await sql`SELECT pg_stat_statements_reset()`.execute(db);
  await sql`SELECT pg_stat_reset()`.execute(db);
}

/** The costliest statements and functions, each per request (`what`: "create", "read"). */
export async function printStats(db: Db, requests: number, what: string, limits: { statements: number; functions: number; callDigits: number }): Promise<void> {
  const { rows: statements } = await sql<{ query: string; calls: string; total: number; toplevel: boolean }>`
    SELECT query, calls, total_exec_time AS total, toplevel FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT ${limits.statements}`.execute(db);
  console.log(`\nµs per ${what} | calls per ${what} | top-level | statement`);
  for (const s of statements) console.log(`${((s.total * 1000) / requests).toFixed(0).padStart(6)} | ${(Number(s.calls) / requests).toFixed(limits.callDigits).padStart(6)} | ${s.toplevel ? 'top ' : 'nest'} | ${s.query.replace(/\s+/g, ' ').slice(0, 150)}`);
  const { rows: functions } = await sql<{ funcname: string; calls: string; total: number; self: number }>`
    SELECT funcname, calls, total_time AS total, self_time AS self FROM pg_stat_user_functions ORDER BY total_time DESC LIMIT ${limits.functions}`.execute(db);
  console.log(`\nfunction | µs per ${what} total / self | calls per ${what}`);
  for (const f of functions) console.log(`${f.funcname.padEnd(32)} ${((f.total * 1000) / requests).toFixed(0).padStart(6)} / ${((f.self * 1000) / requests).toFixed(0).padStart(6)} | ${(Number(f.calls) / requests).toFixed(limits.callDigits)}`);
}
