/**
 * `BENCH_BASELINE=<built checkout> node bench/search-explain.ts` (after `npm run build`): for the search
 * scenarios of ab-run.ts, on each side (the baseline, this checkout) with the same data, the SQL its own
 * compiler builds and EXPLAIN (ANALYZE, BUFFERS) of it, the SQL's median time alone over BENCH_REPEAT runs,
 * then (BENCH_DURATION > 0) BENCH_ROUNDS alternating rounds of load on one connection with the CPU per
 * request, each server running with `--cpu-prof` (profiles in PROFILE_DIR/<side>/ when it stops).
 * BENCH_ONLY: a regular expression of scenario names. For "where does a search's time go, here and there".
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import type { CompiledQuery, Kysely } from 'kysely';
import { cpuPer, cpuStart, median, post, startServer, type Server } from './harness.ts';
import { mexicanPatient } from './fixtures.ts';

const baselineRoot = path.resolve(process.env.BENCH_BASELINE ?? process.cwd());
const patients = Number(process.env.BENCH_PATIENTS ?? 200);
const repeat = Number(process.env.BENCH_REPEAT ?? 50);
const duration = Number(process.env.BENCH_DURATION ?? 0);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const profileDir = process.env.PROFILE_DIR ?? '/tmp/ecu-prof';
const only = new RegExp(process.env.BENCH_ONLY ?? '');

type Who = { patientId: string; identifier: string; family: string };
const all: { name: string; type: string; query: (w: Who) => Record<string, string> }[] = [
  { name: 'token', type: 'Patient', query: (w) => ({ identifier: w.identifier }) },
  { name: 'family', type: 'Patient', query: (w) => ({ family: w.family.slice(0, 4), birthdate: 'ge1980', _count: '10' }) },
  { name: 'has', type: 'Patient', query: (w) => ({ _id: w.patientId, '_has:Observation:subject:code': 'http://loinc.org|8867-4' }) },
  { name: 'encounter', type: 'Encounter', query: (w) => ({ patient: w.patientId, date: 'ge2020' }) },
  { name: 'reference', type: 'Observation', query: (w) => ({ subject: `Patient/${w.patientId}` }) },
  { name: 'include', type: 'MedicationRequest', query: (w) => ({ patient: w.patientId, status: 'active', _include: 'MedicationRequest:medication' }) },
];
const scenarios = all.filter((s) => only.test(s.name));

interface Side {
  label: string;
  root: string;
  server: Server;
  who: Who[];
  compile: (type: string, query: Record<string, string>) => CompiledQuery;
  db: Kysely<any>;
}

async function prepare(label: string, root: string): Promise<Side> {
  const env = { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${path.join(profileDir, label.replace(/\W+/g, '-'))}`, AUDIT_READ_COMMIT: 'fast' };
  // BENCH_PG_DIR: each side's database is kept there, loaded once, for runs that only look at the SQL.
  const pgDir = process.env.BENCH_PG_DIR ? path.join(process.env.BENCH_PG_DIR, label.replace(/\W+/g, '-')) : undefined;
  const loadedBefore = pgDir !== undefined && existsSync(path.join(pgDir, 'PG_VERSION'));
  const server = await startServer({ ...(root === process.cwd() ? {} : { root }), env, ...(pgDir ? { pgDir } : {}) });
  if (!loadedBefore) for (let i = 0; i < 500; i++) await post(server, '/fhir/Patient', mexicanPatient(i));
  const mod = async <T>(p: string) => (await import(path.join(root, p))) as T;
  const { loadReplayed } = await mod<typeof import('./synthea-replay.ts')>('bench/synthea-replay.ts');
  const { connect } = await mod<typeof import('../src/store/connect.ts')>('src/store/connect.ts');
  const { loadDefinitions } = await mod<typeof import('../src/fhir/definitions.ts')>('src/fhir/definitions.ts');
  const { parseSearch } = await mod<typeof import('../src/search/parse-search.ts')>('src/search/parse-search.ts');
  const { pageQuery } = await mod<typeof import('../src/search/compile-search.ts')>('src/search/compile-search.ts');
  const { searchDb } = await mod<typeof import('../src/search/index-tables.ts')>('src/search/index-tables.ts');
  loadDefinitions();
  const db = connect({ databaseUrl: server.databaseUrl, maxConnections: 2 });
  const { replayedPatient } = await mod<typeof import('./synthea-replay.ts')>('bench/synthea-replay.ts');
  const loaded = loadedBefore ? { patients: Array.from({ length: patients }, (_, i) => replayedPatient(i)) } : await loadReplayed(db, patients, label);
  const who = loaded.patients.map((p) => ({ patientId: p.patientId, identifier: `${p.identifier.system}|${p.identifier.value}`, family: p.family }));
  const compile = (type: string, query: Record<string, string>) => {
    const parsed = parseSearch([type], query);
    return pageQuery(searchDb(db), parsed, { now: new Date(), baseUrl: `${server.url}/fhir` }).query.compile();
  };
  return { label, root, server, who, compile, db };
}

const any = <T>(list: T[]) => list[Math.floor(Math.random() * list.length)]!;
const sides = [await prepare('baseline', baselineRoot), await prepare('this commit', process.cwd())];
const started = new Date();
const loadAtStart = os.loadavg()[0] ?? 0;
try {
  for (const sc of scenarios) {
    for (const side of sides) {
      const w = side.who[Math.floor(side.who.length / 2)]!;
      const q = side.compile(sc.type, sc.query(w));
      console.log(`\n### ${sc.name} — ${side.label}\n${q.sql}\n${JSON.stringify(q.parameters)}`);
      const plan = await side.db.executeQuery<{ 'QUERY PLAN': string }>({ ...q, sql: `EXPLAIN (ANALYZE, BUFFERS) ${q.sql}` });
      console.log(plan.rows.map((r) => r['QUERY PLAN']).join('\n'));
      const times: number[] = [];
      for (let i = 0; i < repeat; i++) {
        const c = side.compile(sc.type, sc.query(any(side.who)));
        const t0 = performance.now();
        await side.db.executeQuery({ ...c });
        times.push(performance.now() - t0);
      }
      console.log(`SQL alone (client-side round trip), median of ${repeat} random patients: ${median(times).toFixed(3)} ms`);
      const planning: number[] = [];
      const execution: number[] = [];
      for (const w2 of side.who.slice(0, 40)) {
        const c = side.compile(sc.type, sc.query(w2));
        const r = await side.db.executeQuery<{ 'QUERY PLAN': [{ 'Planning Time': number; 'Execution Time': number }] }>({ ...c, sql: `EXPLAIN (ANALYZE, FORMAT JSON) ${c.sql}` });
        planning.push(r.rows[0]!['QUERY PLAN'][0]['Planning Time']);
        execution.push(r.rows[0]!['QUERY PLAN'][0]['Execution Time']);
      }
      if (process.env.BENCH_SLOWEST) {
        const slowest = side.who.slice(0, 40)[execution.indexOf(Math.max(...execution))]!;
        const c = side.compile(sc.type, sc.query(slowest));
        const r = await side.db.executeQuery<{ 'QUERY PLAN': string }>({ ...c, sql: `EXPLAIN (ANALYZE, BUFFERS) ${c.sql}` });
        console.log(`slowest of the 40 (${slowest.patientId}):\n${r.rows.map((x) => x['QUERY PLAN']).join('\n')}`);
      }
      const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0).toFixed(1);
      console.log(`EXPLAIN ANALYZE over the first 40 patients: planning ${sum(planning)} ms, execution ${sum(execution)} ms in all`);
    }
    if (duration <= 0) continue;
    const tallies = sides.map(() => ({ rps: [] as number[], server: [] as number[], postgres: [] as number[] }));
    for (let r = 0; r < rounds; r++) {
      for (const [i, side] of sides.entries()) {
        const before = cpuStart(side.server);
        const res = await autocannon({
          url: side.server.url,
          connections: 1,
          duration,
          requests: [{ method: 'GET', headers: side.server.auth, setupRequest: (req) => ({ ...req, path: `/fhir/${sc.type}?${new URLSearchParams(sc.query(any(side.who)))}` }) }],
        });
        const cpu = cpuPer(before, side.server, res.requests.total);
        tallies[i]!.rps.push(res.requests.average);
        tallies[i]!.server.push(cpu.server);
        tallies[i]!.postgres.push(cpu.postgres);
        if (res.non2xx) console.log(`${side.label}: ${res.non2xx} non-2xx`);
      }
    }
    console.log(`\n${sc.name}: ${sides.map((s, i) => `${s.label} ${Math.round(median(tallies[i]!.rps))} req/s, CPU µs/req ${Math.round(median(tallies[i]!.server))}/${Math.round(median(tallies[i]!.postgres))}`).join('; ')}`);
  }
} finally {
  for (const side of sides) {
    await side.db.destroy();
    await side.server.stop();
  }
}
console.log(`\n${started.toISOString()} – ${new Date().toISOString()}; load ${loadAtStart.toFixed(1)} → ${(os.loadavg()[0] ?? 0).toFixed(1)}; profiles in ${profileDir}`);
