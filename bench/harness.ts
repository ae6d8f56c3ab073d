/**
 * Benchmark harness: a fresh embedded PostgreSQL, the real server in its own
 * process (as deployed), and autocannon driving it over loopback. Each
 * scenario runs several rounds; we report medians because the machine is
 * shared and noisy.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
  /** Headers every request needs (the bearer token), empty when security is off. */
  auth: Record<string, string>;
  stop(): Promise<void>;
}

/** A token from the development key the server trusts (no AUTH_ISSUER), full access. */
async function benchToken(dataDir: string): Promise<string> {
  const key = await loadOrCreateDevKey(devKeyFile(dataDir));
  return new SignJWT({ role: 'admin', scope: 'system/*.cruds', clues: 'DFIMS000011' })
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
  const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts;
  return (scripts.start ?? '').split(/\s+/).filter((word) => word.startsWith('--'));
}

export async function startServer(options: { security?: boolean; env?: Record<string, string> } = {}): Promise<Server> {
  const security = options.security !== false;
  const env = options.env ?? {};
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ecu-bench-pg-'));
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'ecu-bench-data-'));
  const db: EmbeddedDb = await startEmbeddedPostgres({ dataDir: dir, persistent: false });
  const migrator = connect({ databaseUrl: db.url, maxConnections: 1 });
  await migrateToLatest(migrator);
  await migrator.destroy();
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [...startFlags(), 'dist/bench/server.js'], {
    env: { ...process.env, AUTH_ISSUER: '', DATA_DIR: dataDir, DATABASE_URL: db.url, PORT: String(port), HOST: '127.0.0.1', BENCH_SECURITY: security ? 'on' : 'off', ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
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
    auth: security ? { authorization: `Bearer ${await benchToken(dataDir)}` } : {},
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      await db.stop();
      await rm(dir, { recursive: true, force: true });
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Measure {
  name: string;
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
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export async function load(options: LoadOptions): Promise<Measure> {
  const results: autocannon.Result[] = [];
  for (let round = 0; round < options.rounds; round++) {
    results.push(
      await autocannon({ url: options.url, connections: options.connections, duration: options.durationSeconds, requests: options.requests }),
    );
  }
  const measure = {
    name: options.name,
    rps: Math.round(median(results.map((r) => r.requests.average))),
    p50: median(results.map((r) => r.latency.p50)),
    p99: median(results.map((r) => r.latency.p99)),
    non2xx: results.reduce((n, r) => n + r.non2xx, 0),
    errors: results.reduce((n, r) => n + r.errors, 0),
    rounds: options.rounds,
  };
  console.log(`${measure.name.padEnd(34)} ${String(measure.rps).padStart(7)} req/s  p50 ${measure.p50} ms  p99 ${measure.p99} ms  non-2xx ${measure.non2xx}`);
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
