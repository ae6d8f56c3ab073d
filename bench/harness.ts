/**
 * Benchmark harness: a fresh embedded PostgreSQL, the real server in its own
 * process (as deployed), and autocannon driving it over loopback. Each
 * scenario runs several rounds; we report medians because the machine is
 * shared and noisy.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { importJWK, SignJWT } from 'jose';
import { devAlgorithm, devIssuer, devKeyFile, loadOrCreateDevKey } from '../src/auth/dev-key.ts';
import { connect } from '../src/store/connect.ts';
import { freePort, startEmbeddedPostgres, type EmbeddedDb } from '../src/store/embedded-postgres.ts';
import { migrateToLatest } from '../src/store/migrate.ts';

export interface Server {
  url: string;
  databaseUrl: string;
  pid: number;
  /** The PostgreSQL data directory (its postmaster.pid names the server process). */
  pgDataDir: string;
  /** Headers every request needs (the bearer token), empty when security is off. */
  auth: Record<string, string>;
  /** A bearer token with other claims (e.g. a national auditor, without CLUES), from the same development key. */
  tokenFor(claims: Record<string, unknown>): Promise<string>;
  stop(): Promise<void>;
}

/** A token from the development key the server trusts (no AUTH_ISSUER), full access. */
async function benchToken(dataDir: string, claims: Record<string, unknown> = { role: 'admin', scope: 'system/*.cruds', clues: 'DFIMS000011' }): Promise<string> {
  const key = await loadOrCreateDevKey(devKeyFile(dataDir));
  return new SignJWT(claims)
    .setProtectedHeader({ alg: devAlgorithm, kid: key.kid })
    .setIssuer(devIssuer)
    .setAudience('ecu-fhir')
    .setSubject('bench')
    .setExpirationTime('2h')
    .sign(await importJWK(key.privateJwk, devAlgorithm));
}

/**
 * The node flags `npm start` runs the server with, so the bench measures the
 * server as deployed: compiled JavaScript (`npm run build`, run by prebench).
 */
function startFlags(): string[] {
  // BENCH_NODE_FLAGS: the server's node flags instead of npm start's (to weigh a V8 setting).
  if (process.env.BENCH_NODE_FLAGS !== undefined) return process.env.BENCH_NODE_FLAGS.split(/\s+/).filter(Boolean);
  const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts;
  return (scripts.start ?? '').split(/\s+/).filter((word) => word.startsWith('--'));
}

/**
 * `root`: another checkout of this repository, built (its dist/), whose server
 * runs on its own migrations: an earlier commit measured beside this one.
 * `pgDir`: a PostgreSQL data folder kept between runs (a scenario that generates much data can reuse it).
 */
export async function startServer(options: { security?: boolean; env?: Record<string, string>; entry?: string; root?: string; pgDir?: string } = {}): Promise<Server> {
  const security = options.security !== false;
  const env = options.env ?? {};
  const dir = options.pgDir ?? (await mkdtemp(path.join(os.tmpdir(), 'ecu-bench-pg-')));
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'ecu-bench-data-'));
  const db: EmbeddedDb = await startEmbeddedPostgres({ dataDir: dir, persistent: options.pgDir !== undefined });
  if (options.root) {
    execFileSync(process.execPath, ['src/store/migrate-cli.ts'], { cwd: options.root, env: { ...process.env, DATABASE_URL: db.url }, stdio: 'ignore' });
  } else {
    const migrator = connect({ databaseUrl: db.url, maxConnections: 1 });
    await migrateToLatest(migrator);
    await migrator.destroy();
  }
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [...startFlags(), options.entry ?? 'dist/bench/server.js'], {
    env: { ...process.env, AUTH_ISSUER: '', DATA_DIR: dataDir, DATABASE_URL: db.url, PORT: String(port), HOST: '127.0.0.1', BENCH_SECURITY: security ? 'on' : 'off', ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
    ...(options.root ? { cwd: options.root } : {}),
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 120; i++) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    databaseUrl: db.url,
    pid: child.pid ?? 0,
    pgDataDir: dir,
    auth: security ? { authorization: `Bearer ${await benchToken(dataDir)}` } : {},
    tokenFor: (claims) => benchToken(dataDir, claims),
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      await db.stop();
      if (options.pgDir === undefined) await rm(dir, { recursive: true, force: true });
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** CPU time per request (µs) of the server process, its PostgreSQL (postmaster and backends) and the load generator. */
export interface CpuPerRequest {
  server: number;
  postgres: number;
  client: number;
  /** Of `postgres`: autovacuum workers (those still running at the end; one that exited meanwhile is not counted). */
  autovacuum: number;
}

export interface Measure {
  name: string;
  cpu?: CpuPerRequest;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  rounds: number;
}

export interface LoadOptions {
  name: string;
  url: string;
  connections: number;
  durationSeconds: number;
  rounds: number;
  requests: autocannon.Request[];
  /** When given, CPU time of the server and its PostgreSQL is measured too (Linux /proc). */
  server?: Server;
}

function processSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 1/100 s
  } catch {
    return 0; // exited meanwhile
  }
}

/**
 * CPU seconds so far of the server process and of its PostgreSQL: the postmaster and every backend it forked;
 * `autovacuum`: the part of `postgres` spent by autovacuum workers (maintenance after a bulk load, not requests).
 */
export function cpuSeconds(server: Server): { server: number; postgres: number; autovacuum: number } {
  const postmaster = Number(readFileSync(path.join(server.pgDataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  let postgres = processSeconds(postmaster);
  let autovacuum = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]);
      if (ppid !== postmaster) continue;
      const seconds = processSeconds(Number(entry));
      postgres += seconds;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('autovacuum worker')) autovacuum += seconds;
    } catch {
      // exited meanwhile
    }
  }
  return { server: processSeconds(server.pid), postgres, autovacuum };
}

/** µs of CPU per unit of work between two readings (backends that exited meanwhile are not counted). */
export function cpuPer(before: { server: number; postgres: number; autovacuum: number; client: NodeJS.CpuUsage }, server: Server, units: number): CpuPerRequest {
  const after = cpuSeconds(server);
  const client = process.cpuUsage(before.client);
  const per = (seconds: number) => Math.round((seconds * 1e6) / Math.max(units, 1));
  // A worker that started meanwhile counts from zero; one that ended is gone from both sums: its part is not negative.
  return { server: per(after.server - before.server), postgres: per(after.postgres - before.postgres), client: per((client.user + client.system) / 1e6), autovacuum: per(Math.max(0, after.autovacuum - before.autovacuum)) };
}

export function cpuStart(server: Server): { server: number; postgres: number; autovacuum: number; client: NodeJS.CpuUsage } {
  return { ...cpuSeconds(server), client: process.cpuUsage() };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export async function load(options: LoadOptions): Promise<Measure> {
  const results: autocannon.Result[] = [];
  const before = options.server ? cpuStart(options.server) : undefined;
  for (let round = 0; round < options.rounds; round++) {
    results.push(
      await autocannon({ url: options.url, connections: options.connections, duration: options.durationSeconds, requests: options.requests }),
    );
  }
  const total = results.reduce((n, r) => n + r.requests.total, 0);
  const measure = {
    name: options.name,
    ...(before && options.server ? { cpu: cpuPer(before, options.server, total) } : {}),
    rps: Math.round(median(results.map((r) => r.requests.average))),
    p50: median(results.map((r) => r.latency.p50)),
    p99: median(results.map((r) => r.latency.p99)),
    non2xx: results.reduce((n, r) => n + r.non2xx, 0),
    errors: results.reduce((n, r) => n + r.errors, 0),
    rounds: options.rounds,
  };
  const cpu = measure.cpu ? `  cpu µs/req: server ${measure.cpu.server}, postgres ${measure.cpu.postgres}, client ${measure.cpu.client}` : '';
  console.log(`${measure.name.padEnd(34)} ${String(measure.rps).padStart(7)} req/s  p50 ${measure.p50} ms  p99 ${measure.p99} ms  non-2xx ${measure.non2xx}${cpu}`);
  return measure;
}

export async function post(server: Server, path: string, body: unknown): Promise<{ id: string }> {
  const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/fhir+json', ...server.auth }, body: JSON.stringify(body) });
  if (res.status !== 201) throw new Error(`seed failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string };
}

/** Resident set size of a process in MB, read from /proc (Linux). */
export async function rssMb(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}
