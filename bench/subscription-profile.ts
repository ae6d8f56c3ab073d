/**
 * `npm run build && flock /tmp/ecu-bench.lock node bench/subscription-profile.ts [seconds]`: where the
 * subscription worker's cost per create goes. One server with the worker and 100 active R4-criteria
 * subscriptions (as bench/subscription-run.ts, none matching), run with `--cpu-prof` (profile in PROFILE_DIR,
 * default /tmp/ecu-prof-sub), on a PostgreSQL with pg_stat_statements: creates for the given seconds, then the
 * statements by total time (the worker's are the ones not of the create path) and the CPU per create.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/store/embedded-postgres.ts';
import { load, post, startServer } from './harness.ts';

const seconds = Number(process.argv[2] ?? 10);
const dir = process.env.PROFILE_DIR ?? '/tmp/ecu-prof-sub';
const pgDir = await mkdtemp(path.join(os.tmpdir(), 'ecu-bench-pgss-'));
{
  // The module must be preloaded at start: set it, then restart (startServer starts the same folder again).
  const db = await startEmbeddedPostgres({ dataDir: pgDir, persistent: true });
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  await c.query(`ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'`);
  await c.query(`ALTER SYSTEM SET pg_stat_statements.track = 'all'`);
  await c.end();
  await db.stop();
}
let handshakes = 0;
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    if (body.includes('"valueCode":"handshake"')) handshakes++;
    res.end();
  });
});
await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
const port = (receiver.address() as AddressInfo).port;
const profiled = process.env.BENCH_PROFILE !== 'off';
const server = await startServer({ pgDir, env: { BENCH_SUBSCRIPTIONS: process.env.BENCH_SUBSCRIPTIONS ?? 'on', ...(profiled ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${dir}` } : {}) } });
const client = new pg.Client({ connectionString: server.databaseUrl });
await client.connect();
try {
  for (let i = 0; i < 100; i++) {
    await post(server, '/fhir/Subscription', {
      resourceType: 'Subscription',
      status: 'requested',
      reason: 'bench',
      criteria: `Observation?code=urn:bench|s${i}`,
      channel: { type: 'rest-hook', endpoint: `http://127.0.0.1:${port}/s${i}`, payload: 'application/fhir+json' },
    });
  }
  for (let i = 0; i < 200 && handshakes < 100 && process.env.BENCH_SUBSCRIPTIONS !== 'off'; i++) await new Promise((r) => setTimeout(r, 100));
  const body = JSON.stringify({ resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'urn:bench', code: 'a' }] }, valueQuantity: { value: 72, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' } });
  const request = { method: 'POST' as const, path: '/fhir/Observation', headers: { 'content-type': 'application/fhir+json', ...server.auth }, body };
  await load({ name: 'warm-up', url: server.url, connections: 16, durationSeconds: 3, rounds: 1, requests: [request] });
  await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  await client.query('SELECT pg_stat_statements_reset()');
  const m = await load({ name: 'create, worker + 100 subscriptions', url: server.url, connections: 16, durationSeconds: seconds, rounds: 1, server, requests: [request] });
  const total = m.rps * seconds;
  const { rows } = await client.query<{ calls: string; ms: number; us_per_create: number; rows: string; query: string }>(
    `SELECT calls, round(total_exec_time)::int AS ms, round((total_exec_time * 1000 / $1)::numeric, 1)::float AS us_per_create, rows,
       left(regexp_replace(query, '\\s+', ' ', 'g'), 160) AS query
     FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 30`,
    [total],
  );
  for (const r of rows) console.log(`${String(r.calls).padStart(7)} calls ${String(r.ms).padStart(6)} ms ${String(r.us_per_create).padStart(6)} µs/create ${String(r.rows).padStart(7)} rows  ${r.query}`);
} finally {
  await client.end();
  await server.stop();
  receiver.close();
  await rm(pgDir, { recursive: true, force: true });
}
if (profiled) console.log(`profile in ${dir}`);
