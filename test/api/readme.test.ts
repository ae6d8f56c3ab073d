/**
 * The README as a new user follows it: its ```sh blocks, in order, with bash,
 * against a freshly started server (`node src/main.ts`) on a database of its
 * own, with `npm run seed` (a README block) loading the demo data. Every block must exit 0 (under
 * `set -eo pipefail`), and every command ending in `# → NNN` must answer that
 * status (the first line of its output contains it: a `-w '%{http_code}'`
 * code or an `HTTP/1.1 NNN` status line). Blocks marked ```sh no-test are
 * skipped (installing Node, Docker). Variables a block exports reach the next.
 * `http://127.0.0.1:8080` is the server the test started.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import { freePort } from '../../src/store/embedded-postgres.ts';
import { createOwnDatabase } from '../support/own-database.ts';
import { instrument, logicalLines, shellBlocks } from '../support/readme-blocks.ts';

const root = path.resolve(import.meta.dirname, '../..');
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');

let server: ChildProcess | undefined;
let baseUrl = '';
let dataDir = '';
let databaseUrl = '';
let serverLog = '';
const state = path.join(os.tmpdir(), `ecu-readme-${process.pid}.env`);

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'ecu-readme-'));
  await chmod(dataDir, 0o755);
  databaseUrl = await createOwnDatabase(inject('databaseUrl'));
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  // From the sources (Node strips the types): main.test.ts covers the build, and a build here would swap dist/ under it.
  server = spawn(process.execPath, ['src/main.ts'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: databaseUrl, DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn', MX_PROFILE_ENFORCEMENT: 'strict', AUTH_ISSUER: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  server.stderr?.on('data', (d) => (serverLog += String(d)));
  for (let i = 0; i < 150; i++) {
    try {
      if ((await fetch(`${baseUrl}/readyz`)).ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  // The environment every block starts from: this Node first on PATH (npm run … uses it), the server's data and database,
  // and a TMPDIR removed afterwards (the SMART walk-through keeps its client's key in a `mktemp -d` folder).
  const env: Record<string, string> = { PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ''}`, HOME: process.env.HOME ?? os.tmpdir(), DATA_DIR: dataDir, DATABASE_URL: databaseUrl, AUTH_ISSUER: '', TMPDIR: dataDir };
  writeFileSync(state, Object.entries(env).map(([k, v]) => `export ${k}=${JSON.stringify(v)}`).join('\n') + '\n');
}, 120_000);

afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server!.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
  await rm(state, { force: true });
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test('the README has shell blocks, and only a few are marked no-test', () => {
  const blocks = shellBlocks(readme);
  expect(blocks.length).toBeGreaterThan(10);
  expect(blocks.filter((b) => b.skip).length).toBeLessThanOrEqual(4);
});

test('every README shell block runs in order against a fresh server with the demo data', { timeout: 300_000 }, () => {
  for (const block of shellBlocks(readme)) {
    if (block.skip) continue;
    const script = `set -eo pipefail\nsource ${JSON.stringify(state)}\n${instrument(block.code, baseUrl)}\nexport -p > ${JSON.stringify(state)}\n`;
    // SHLVL and no stdin: bash would otherwise read ~/.bashrc when it guesses it was started remotely.
    const r = spawnSync('bash', ['-c', script], { cwd: root, env: { SHLVL: '2' }, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 120_000 });
    // README_VERBOSE=1 shows what each block printed (when writing README examples).
    if (process.env.README_VERBOSE) console.log(`--- README.md block at line ${block.line}\n${r.stdout}${r.stderr}`);
    expect(r.status, `README.md block at line ${block.line} exited ${r.status}\n--- stdout\n${r.stdout.slice(-3000)}\n--- stderr\n${r.stderr.slice(-3000)}\n--- server\n${serverLog.slice(-2000)}`).toBe(0);
  }
});

test('every stated status in a tested block is checked (none lost in a multi-line command)', () => {
  for (const block of shellBlocks(readme).filter((b) => !b.skip)) {
    const stated = block.code.match(/# →/g)?.length ?? 0;
    expect(instrument(block.code, baseUrl).match(/__out=\$\(/g)?.length ?? 0, `README.md block at line ${block.line}`).toBe(stated);
  }
});

test('commands span lines while quoted or continued; comments do not open quotes', () => {
  const code = "curl -d '{\n  \"a\": 1}' \\\n  -s  # → 201\n# the CMN's worklist\necho \"x\"  # → 200";
  expect(logicalLines(code)).toEqual(["curl -d '{\n  \"a\": 1}' \\\n  -s  # → 201", "# the CMN's worklist", 'echo "x"  # → 200']);
});

test('the checks work: a wrong stated status fails the block', () => {
  const script = `set -eo pipefail\n${instrument(`curl -s -o /dev/null -w '%{http_code}\\n' http://127.0.0.1:8080/fhir/metadata  # → 404`, baseUrl)}\n`;
  const r = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
  expect(r.status).toBe(1);
  expect(r.stderr).toContain('expected 404, got: 200');
});
