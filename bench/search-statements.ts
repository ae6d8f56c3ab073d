/**
 * `BENCH_BASELINE=<built checkout> BENCH_PG_DIR=<folder kept by search-explain.ts> node bench/search-statements.ts`
 * (after `npm run build`, and with `shared_preload_libraries = 'pg_stat_statements'` and
 * `pg_stat_statements.track_planning = on` in each side's postgresql.auto.conf): every statement a search
 * request sends to PostgreSQL, on each side, with calls, planning and execution time per request, from
 * pg_stat_statements after BENCH_REQUESTS sequential requests. For "which statements does the PostgreSQL time
 * per request go to, here and there". BENCH_ONLY: a regular expression of scenario names.
 */
import path from 'node:path';
import pg from 'pg';
import { cpuPer, cpuStart, startServer } from './harness.ts';
import { replayedPatient } from './synthea-replay.ts';

const baselineRoot = path.resolve(process.env.BENCH_BASELINE ?? process.cwd());
const pgRoot = process.env.BENCH_PG_DIR;
if (!pgRoot) throw new Error('BENCH_PG_DIR: the folder search-explain.ts loaded');
const requests = Number(process.env.BENCH_REQUESTS ?? 300);
const patients = Number(process.env.BENCH_PATIENTS ?? 200);
const only = new RegExp(process.env.BENCH_ONLY ?? '');
type Who = { patientId: string; family: string };
const who: Who[] = Array.from({ length: patients }, (_, i) => replayedPatient(i));
const scenarios = [
  { name: 'family', path: (w: Who) => `/fhir/Patient?family=${encodeURIComponent(w.family.slice(0, 4))}&birthdate=ge1980&_count=10` },
  { name: 'has', path: (w: Who) => `/fhir/Patient?_id=${w.patientId}&_has:Observation:subject:code=http://loinc.org|8867-4` },
].filter((s) => only.test(s.name));

for (const [label, root] of [['baseline', baselineRoot], ['this-commit', process.cwd()]] as const) {
  const server = await startServer({ ...(root === process.cwd() ? {} : { root }), env: { AUDIT_READ_COMMIT: 'fast' }, pgDir: path.join(pgRoot, label) });
  const client = new pg.Client({ connectionString: server.databaseUrl });
  await client.connect();
  try {
    await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    for (const sc of scenarios) {
      for (let i = 0; i < 50; i++) await fetch(`${server.url}${sc.path(who[i % who.length]!)}`, { headers: server.auth }).then((r) => r.arrayBuffer());
      await client.query('SELECT pg_stat_statements_reset()');
      const dbStats = async () => (await client.query<Record<string, string>>(`SELECT sum(xact_commit) AS commits, sum(sessions) AS sessions, sum(blks_hit + blks_read) AS blocks, sum(tup_returned) AS returned FROM pg_stat_database`)).rows[0]!;
      const statsBefore = await dbStats();
      const cpuBefore = cpuStart(server);
      for (let i = 0; i < requests; i++) {
        const res = await fetch(`${server.url}${sc.path(who[i % who.length]!)}`, { headers: server.auth });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`${sc.name}: ${res.status}`);
      }
      const cpu = cpuPer(cpuBefore, server, requests);
      const statsAfter = await dbStats();
      const perRequest = Object.fromEntries(Object.keys(statsAfter).map((k) => [k, ((Number(statsAfter[k]) - Number(statsBefore[k])) / requests).toFixed(2)]));
      console.log(`\n${sc.name} — ${label}: CPU µs/req server ${cpu.server}, PostgreSQL ${cpu.postgres}; per request ${JSON.stringify(perRequest)}`);
      const { rows } = await client.query<{ query: string; calls: string; plan_ms: number; exec_ms: number; plans: string }>(
        `SELECT query, calls, plans, total_plan_time AS plan_ms, total_exec_time AS exec_ms FROM pg_stat_statements
          WHERE query NOT LIKE '%pg_stat_statements%' ORDER BY total_plan_time + total_exec_time DESC LIMIT 15`,
      );
      console.log(`\n## ${sc.name} — ${label} (${requests} requests; µs per request: plan / exec, calls per request)`);
      let plan = 0;
      let exec = 0;
      for (const r of rows) {
        plan += r.plan_ms;
        exec += r.exec_ms;
        console.log(`${((r.plan_ms * 1000) / requests).toFixed(0).padStart(5)} / ${((r.exec_ms * 1000) / requests).toFixed(0).padStart(5)}  ×${(Number(r.calls) / requests).toFixed(2)} (plans ${r.plans})  ${r.query.replace(/\s+/g, ' ').slice(0, 260)}`);
      }
      console.log(`total of these: plan ${((plan * 1000) / requests).toFixed(0)} µs, exec ${((exec * 1000) / requests).toFixed(0)} µs per request`);
    }
  } finally {
    await client.end();
    await server.stop();
  }
}
