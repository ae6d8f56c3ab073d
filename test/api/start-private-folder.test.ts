/**
 * `npm start` as a new user runs it, in a fresh clone: as root from a folder
 * only root may enter (a clone under /root, any `mktemp -d`), where the
 * embedded PostgreSQL's own system user cannot reach node_modules or .data;
 * then a second `npm start` while the first runs, which must say what is
 * wrong in one sentence and leave the first serving (and its dist/ in place).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, readlinkSync, statSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { freePort } from '../../src/store/embedded-postgres.ts';

const root = path.resolve(import.meta.dirname, '../..');
const asRoot = process.getuid?.() === 0;
const cleanups: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A clone as `git clone && npm ci` leaves it, node_modules hard-linked (fast, and as unreachable as a copy). */
async function cloneUnder(parent: string): Promise<string> {
  const clone = path.join(parent, 'ecu-fhir');
  await mkdir(clone);
  for (const item of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'openapi.yaml', 'src', 'migrations', 'fhir-profiles', 'bench', 'scripts', 'examples']) {
    await cp(path.join(root, item), path.join(clone, item), { recursive: true });
  }
  await new Promise<void>((resolve, reject) => {
    const child = spawn('cp', ['-al', path.join(root, 'node_modules'), clone], { stdio: 'ignore' });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`cp -al exited ${code}`))));
  });
  return clone;
}

function npmStart(cwd: string, env: Record<string, string>): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  // Its own process group: npm, its shell and node stop together.
  const base: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: '', LOG_LEVEL: 'warn', ...env };
  delete base.DATA_DIR; // the default, ./.data in the clone
  const child = spawn('npm', ['start'], { cwd, detached: true, env: base, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d) => (out += String(d)));
  child.stderr?.on('data', (d) => (out += String(d)));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, output: () => out, exit };
}

async function waitServing(url: string, ms: number, child: ChildProcess): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until && child.exitCode === null) {
    try {
      if ((await fetch(`${url}/fhir/metadata`)).ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return false;
}

test(`npm start ${asRoot ? 'as root from a 0700 folder' : 'from a fresh clone (not root: the 0700 case needs root and is skipped)'}; a second npm start leaves the first serving`, { timeout: 240_000 }, async () => {
  if (!asRoot) console.warn('start-private-folder: not running as root, so the root-in-a-0700-folder case is not exercised');
  const parent = await mkdtemp(path.join(os.tmpdir(), 'ecu-private-'));
  cleanups.push(() => rm(parent, { recursive: true, force: true }));
  expect(statSync(parent).mode & 0o777).toBe(0o700);
  const clone = await cloneUnder(parent);
  const port = await freePort();
  const pgPort = await freePort();
  const first = npmStart(clone, { PORT: String(port), EMBEDDED_PG_PORT: String(pgPort) });
  const pgLink = path.join(clone, '.data', 'pg');
  cleanups.push(async () => {
    // As root the data had to live where the postgres user can reach it; remove it with the clone.
    if (lstatSync(pgLink, { throwIfNoEntry: false })?.isSymbolicLink()) await rm(readlinkSync(pgLink), { recursive: true, force: true });
  });
  cleanups.push(async () => {
    if (first.child.exitCode === null && first.child.pid) process.kill(-first.child.pid, 'SIGTERM');
    await first.exit;
  });
  const url = `http://127.0.0.1:${port}`;
  const serving = await waitServing(url, 180_000, first.child);
  expect(serving, first.output()).toBe(true);

  // Same port: refused before anything else starts, in one sentence.
  const samePort = npmStart(clone, { PORT: String(port), EMBEDDED_PG_PORT: String(pgPort) });
  expect(await samePort.exit).not.toBe(0);
  expect(samePort.output()).toContain(`Port ${port} on 127.0.0.1 is already in use`);
  expect(samePort.output()).not.toMatch(/\n\s+at /);

  // Another port, same data folder: the running PostgreSQL's lock is named.
  const otherPort = npmStart(clone, { PORT: String(await freePort()), EMBEDDED_PG_PORT: String(await freePort()) });
  expect(await otherPort.exit).not.toBe(0);
  expect(otherPort.output()).toMatch(/is in use by a running PostgreSQL \(pid \d+\), most likely another `npm start`/);
  expect(otherPort.output()).not.toMatch(/\n\s+at /);

  // The first one still serves, from a complete dist/.
  expect(existsSync(path.join(clone, 'dist', 'src', 'main.js'))).toBe(true);
  expect((await fetch(`${url}/fhir/metadata`)).status).toBe(200);
  expect((await fetch(`${url}/healthz`)).status).toBe(200);

  if (first.child.pid) process.kill(-first.child.pid, 'SIGTERM');
  await first.exit;
});
