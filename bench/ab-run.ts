/**
 * `BENCH_BASELINE=<checkout of an earlier commit, built> node bench/ab-run.ts`
 * (after `npm run build` here): this commit's server and the baseline's side
 * by side, each on its own fresh PostgreSQL with the same data, measured in
 * alternating rounds (baseline, this, baseline, this, …) beside the raw
 * ceiling, so that the machine's noise (other processes) falls on both
 * alike. For "does this change cost the read and search figures". Search data:
 * BENCH_PATIENTS replayed Synthea patients, loaded by each checkout's own
 * store code (its own schema). BENCH_BASELINE unset: this checkout on both
 * sides, told apart by BENCH_BASELINE_ENV / BENCH_THIS_ENV (`K=V,K=V`, e.g.
 * AUDIT_READ_COMMIT=fast). BENCH_ONLY: a regular expression of scenario names. BENCH_VACUUM=1: VACUUM (ANALYZE)
 * each side after its load.
 * Prints Markdown.
 */
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { CompiledQuery } from 'kysely';
import { cpuPer, cpuStart, median, post, startServer, type CpuPerRequest, type Server } from './harness.ts';
import { mexicanPatient } from './fixtures.ts';

const baselineRoot = path.resolve(process.env.BENCH_BASELINE ?? process.cwd());
const duration = Number(process.env.BENCH_DURATION ?? 10);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const patients = Number(process.env.BENCH_PATIENTS ?? 200);
const started = new Date();
const loadAtStart = os.loadavg()[0] ?? 0;

interface Side {
  label: string;
  root: string;
  server: Server;
  ids: string[];
  who: { patientId: string; identifier: string; family: string }[];
}

const envOf = (text = '') => Object.fromEntries(text.split(',').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));

async function prepare(label: string, root: string, ceiling = false, env: Record<string, string> = {}): Promise<Side> {
  const server = await startServer(ceiling ? { security: false, entry: 'dist/bench/ceiling-server.js' } : root === process.cwd() ? { env } : { root, env });
  const ids: string[] = [];
  for (let i = 0; i < 500; i++) ids.push((await post(server, '/fhir/Patient', mexicanPatient(i))).id);
  let who: Side['who'] = [];
  if (!ceiling && patients > 0) {
    // Each checkout loads with its own store and index code: the schema is its own.
    const { loadReplayed } = (await import(path.join(root, 'bench/synthea-replay.ts'))) as typeof import('./synthea-replay.ts');
    const { connect } = (await import(path.join(root, 'src/store/connect.ts'))) as typeof import('../src/store/connect.ts');
    const db = connect({ databaseUrl: server.databaseUrl, maxConnections: 2 });
    try {
      const loaded = await loadReplayed(db, patients, label);
      who = loaded.patients.map((p) => ({ patientId: p.patientId, identifier: `${p.identifier.system}|${p.identifier.value}`, family: p.family }));
      // BENCH_VACUUM=1: each side's database vacuumed and analysed after its load, so that the rounds measure requests,
      // not the autovacuum that a bulk load of ~100,000 rows sets off (its CPU is PostgreSQL's, per request).
      if (process.env.BENCH_VACUUM === '1') await db.executeQuery(CompiledQuery.raw('VACUUM (ANALYZE)'));
    } finally {
      await db.destroy();
    }
  }
  return { label, root, server, ids, who };
}

interface Scenario {
  name: string;
  connections: number;
  request: (side: Side) => autocannon.Request;
  ceiling?: boolean;
}

const get = (name: string, conns: number, pathOf: (side: Side) => string, ceiling = false): Scenario => ({
  name,
  connections: conns,
  ceiling,
  request: (side) => ({ method: 'GET', headers: side.server.auth, setupRequest: (req) => ({ ...req, path: pathOf(side) }) }),
});
const any = <T>(list: T[]) => list[Math.floor(Math.random() * list.length)]!;
let next = 1000;
const scenarios: Scenario[] = [
  get('read Patient by id', connections, (s) => `/fhir/Patient/${any(s.ids)}`, true),
  get('vread Patient version 1', connections, (s) => `/fhir/Patient/${any(s.ids)}/_history/1`),
  {
    name: 'create Patient',
    connections,
    ceiling: true,
    request: (side) => ({ method: 'POST', path: '/fhir/Patient', headers: { 'content-type': 'application/fhir+json', ...side.server.auth }, setupRequest: (req) => ({ ...req, body: JSON.stringify(mexicanPatient(next++)) }) }),
  },
  ...(patients > 0
    ? [
        get('token: Patient?identifier=system+value', 1, (s) => `/fhir/Patient?identifier=${encodeURIComponent(any(s.who).identifier)}`),
        get('reference: Observation?subject=Patient/x', 1, (s) => `/fhir/Observation?subject=Patient/${any(s.who).patientId}`),
        get('Observation?subject,code,_sort=-date,_count=5', 1, (s) => `/fhir/Observation?subject=Patient/${any(s.who).patientId}&code=http://loinc.org|8867-4&_sort=-date&_count=5`),
        get('Encounter?patient=x&date=ge2020', 1, (s) => `/fhir/Encounter?patient=${any(s.who).patientId}&date=ge2020`),
        get('Patient?family=…&birthdate=ge1980', 1, (s) => `/fhir/Patient?family=${encodeURIComponent(any(s.who).family.slice(0, 4))}&birthdate=ge1980&_count=10`),
        get('Patient?_has:Observation:subject:…', 1, (s) => `/fhir/Patient?_id=${any(s.who).patientId}&_has:Observation:subject:code=http://loinc.org|8867-4`),
        get('MedicationRequest?patient&status&_include', 1, (s) => `/fhir/MedicationRequest?patient=${any(s.who).patientId}&status=active&_include=MedicationRequest:medication`),
      ]
    : []),
];

interface Tally {
  rps: number[];
  p50: number[];
  p99: number[];
  non2xx: number;
  cpu: CpuPerRequest[];
}

const only = new RegExp(process.env.BENCH_ONLY ?? '');
const chosen = scenarios.filter((sc) => only.test(sc.name));
const sides = [await prepare('baseline', baselineRoot, false, envOf(process.env.BENCH_BASELINE_ENV)), await prepare('this commit', process.cwd(), false, envOf(process.env.BENCH_THIS_ENV))];
const ceiling = await prepare('ceiling', process.cwd(), true);
const settingsLine = `baseline: ${process.env.BENCH_BASELINE ?? 'this checkout'} ${process.env.BENCH_BASELINE_ENV ?? ''}; this commit: ${process.env.BENCH_THIS_ENV ?? ''}`;
const rows: string[] = [];
try {
  for (const scenario of chosen) {
    const runners = scenario.ceiling ? [...sides, ceiling] : sides;
    const tallies = runners.map((): Tally => ({ rps: [], p50: [], p99: [], non2xx: 0, cpu: [] }));
    for (let round = 0; round < rounds; round++) {
      for (const [i, side] of runners.entries()) {
        const before = cpuStart(side.server);
        const r = await autocannon({ url: side.server.url, connections: scenario.connections, duration, requests: [scenario.request(side)] });
        const t = tallies[i]!;
        t.rps.push(r.requests.average);
        t.p50.push(r.latency.p50);
        t.p99.push(r.latency.p99);
        t.non2xx += r.non2xx + r.errors;
        t.cpu.push(cpuPer(before, side.server, r.requests.total));
      }
    }
    const [base, mine, raw] = tallies.map((t) => ({ rps: Math.round(median(t.rps)), p50: median(t.p50), p99: median(t.p99), non2xx: t.non2xx, server: Math.round(median(t.cpu.map((c) => c.server))), postgres: Math.round(median(t.cpu.map((c) => c.postgres))), autovacuum: Math.round(median(t.cpu.map((c) => c.autovacuum))) }));
    const change = base && mine ? Math.round((mine.rps / base.rps - 1) * 100) : 0;
    const cell = (m?: typeof base) => (m ? `${m.rps} (p50 ${m.p50}, p99 ${m.p99}${m.non2xx ? `, ${m.non2xx} non-2xx` : ''})` : '—');
    // PostgreSQL's part includes autovacuum workers busy meanwhile (after the bulk load): shown apart when any.
    const cpuCell = (m?: typeof base) => (m ? `${m.server}/${m.postgres}${m.autovacuum ? ` (autovacuum ${m.autovacuum})` : ''}` : '');
    const ofRaw = (m?: typeof base) => (m && raw ? `${Math.round((100 * m.rps) / raw.rps)} %` : '');
    const line = `| ${scenario.name} | ${scenario.connections} | ${cell(base)} | ${cell(mine)} | ${change > 0 ? '+' : ''}${change} % | ${raw ? `${raw.rps} | ${ofRaw(base)} → ${ofRaw(mine)}` : '— | —'} | ${cpuCell(base)} → ${cpuCell(mine)} |`;
    console.log(line);
    rows.push(line);
  }
} finally {
  for (const side of [...sides, ceiling]) await side.server.stop();
}
console.log(`
Measured ${started.toISOString()} – ${new Date().toISOString()}; load average (1 min) ${loadAtStart.toFixed(1)} at start, ${(os.loadavg()[0] ?? 0).toFixed(1)} at end.
${rounds} alternating rounds of ${duration} s per scenario and side; medians over rounds. Search data: ${patients} replayed Synthea patients per side. ${settingsLine}

| scenario | connections | baseline req/s (ms) | this commit req/s (ms) | change | raw ceiling req/s | of ceiling | CPU µs/req server/PostgreSQL |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}
`);
