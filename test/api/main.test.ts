/**
 * `npm start` as a user runs it: the build (prestart), then the compiled
 * server with the start script's node flags; no DATABASE_URL, so it starts its
 * embedded PostgreSQL in DATA_DIR, migrates, answers, shuts down cleanly on
 * SIGTERM, and finds its data again after a restart.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { freePort } from '../../src/store/embedded-postgres.ts';

const root = path.resolve(import.meta.dirname, '../..');
const startScript = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
// `node <flags> dist/src/main.js`: run by node itself (not through npm and a shell) so SIGTERM reaches the server.
const startArgs = startScript.split(/\s+/).slice(1);
const dirs: string[] = [];
const children: ChildProcess[] = [];

afterAll(async () => {
  // A failed assertion must not leave a server (and its PostgreSQL) running.
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** `npm run token` as the README shows it; the bare token is the last line. */
async function devToken(dataDir: string, args: string[]): Promise<string> {
  const child = spawn(process.execPath, ['src/auth/token-cli.ts', ...args], { cwd: root, env: { ...process.env, DATA_DIR: dataDir }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += String(d)));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  expect(code).toBe(0);
  return out.trim().split('\n').pop() ?? '';
}

async function startMain(dataDir: string) {
  const port = await freePort();
  const pgPort = await freePort();
  const env = { ...process.env, DATABASE_URL: '', DATA_DIR: dataDir, PORT: String(port), EMBEDDED_PG_PORT: String(pgPort), LOG_LEVEL: 'warn', MX_PROFILE_ENFORCEMENT: 'declared' };
  const child = spawn(process.execPath, startArgs, { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += String(d)));
  const url = `http://127.0.0.1:${port}`;
  const started = Date.now();
  while (Date.now() - started < 30_000) {
    try {
      const res = await fetch(`${url}/fhir/metadata`);
      if (res.ok) break;
    } catch {
      // not yet listening
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    elapsed: Date.now() - started,
    stop: async () => {
      const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      const signalled = Date.now();
      child.kill('SIGTERM');
      return { code: await exit, stderr, ms: Date.now() - signalled };
    },
  };
}

test('starts on an embedded PostgreSQL within 30 s and keeps data across restarts', { timeout: 120_000 }, async () => {
  execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' });
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'ecu-main-'));
  dirs.push(dataDir);
  // As root, PostgreSQL runs as its own system user, which must be able to reach the data folder.
  await chmod(dataDir, 0o755);
  const first = await startMain(dataDir);
  expect(first.elapsed).toBeLessThan(30_000);
  const noToken = await fetch(`${first.url}/fhir/Patient`, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: '{}' });
  expect(noToken.status).toBe(401);
  const token = await devToken(dataDir, ['--role', 'clinician', '--sub', 'dra-lopez', '--clues', 'DFIMS000011']);
  const created = await fetch(`${first.url}/fhir/Patient`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ resourceType: 'Patient', gender: 'female' }),
  });
  expect(created.status).toBe(201);
  const { id } = (await created.json()) as { id: string };
  const stopped = await first.stop();
  expect(stopped.code, stopped.stderr).toBe(0);

  const second = await startMain(dataDir);
  // The development key is kept in DATA_DIR too, so tokens survive a restart.
  const read = await fetch(`${second.url}/fhir/Patient/${id}`, { headers: { authorization: `Bearer ${token}` } });
  expect(read.status).toBe(200);
  expect(((await read.json()) as { gender: string }).gender).toBe('female');
  // SIGTERM while requests are in flight: the app closes first (they finish), then its PostgreSQL stops; exit 0,
  // and soon, although this client never reads the answers (the connections it keeps open are closed).
  const inFlight = Array.from({ length: 20 }, () => fetch(`${second.url}/fhir/Patient?_count=50`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status, () => 'refused'));
  await new Promise((r) => setTimeout(r, 20));
  const stoppedUnderLoad = await second.stop();
  await Promise.all(inFlight);
  expect(stoppedUnderLoad.code, stoppedUnderLoad.stderr).toBe(0);
  expect(stoppedUnderLoad.stderr).not.toMatch(/terminating connection|shutdown: /);
  expect(stoppedUnderLoad.ms).toBeLessThan(15_000);
});

test('the server takes the embedded PostgreSQL package’s signal handlers over, so they cannot stop it under the closing app', () => {
  // embedded-postgres (async-exit-hook) stops PostgreSQL on SIGTERM at once and exits 143, racing main.ts's shutdown.
  const script =
    "const m = await import('./src/store/embedded-postgres.ts'); await m.loadEmbeddedPostgres(); const before = ['SIGINT', 'SIGTERM'].map((s) => process.listenerCount(s)); m.takeOverSignals(); console.log(JSON.stringify([before, ['SIGINT', 'SIGTERM'].map((s) => process.listenerCount(s))]));";
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 30_000 });
  expect(r.stderr).toBe('');
  expect(JSON.parse(r.stdout)).toEqual([[1, 1], [0, 0]]);
});
