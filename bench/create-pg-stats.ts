/**
 * `node bench/create-pg-stats.ts [seconds]` (after `npm run build`): where PostgreSQL's time goes in a create
 * Patient at 32 connections (issue 21). Its own embedded PostgreSQL runs with pg_stat_statements (nested
 * statements too) and track_functions = 'all'; after the load it prints, per create, each statement's and each
 * function's time and calls, and the lock waits seen while loading (pg_locks sampled every 50 ms).
 * Statement times are wall time inside PostgreSQL, near its CPU when nothing waits.
 */
import { sql } from 'kysely';
import { loadDefinitions } from '../src/fhir/definitions.ts';
import { load } from './harness.ts';
import { printStats, resetStats, startStatsServer } from './pg-stats.ts';
import { mexicanPatient } from './fixtures.ts';

loadDefinitions();
const seconds = Number(process.argv[2] ?? 8);
const { server, db } = await startStatsServer();
try {
  let next = 0;
  const common = { url: server.url, connections: 32, durationSeconds: 2, rounds: 1, server };
  const request = { method: 'POST' as const, path: '/fhir/Patient', headers: { 'content-type': 'application/fhir+json', ...server.auth }, setupRequest: (req: object) => ({ ...req, body: JSON.stringify(mexicanPatient(next++)) }) };
  await load({ ...common, name: 'create Patient (warm-up)', requests: [request] });
  await resetStats(db);
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
  await printStats(db, creates, 'create', { statements: 25, functions: 15, callDigits: 2 });
} finally {
  await db.destroy();
  await server.stop();
}
