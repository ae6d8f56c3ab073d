import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './database.ts';
import { prepareMarkedStatements } from './prepared.ts';

export interface DbOptions {
  databaseUrl: string;
  maxConnections?: number;
}

export function connect(options: DbOptions): Kysely<Database> {
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.maxConnections ?? 20 });
  // A broken idle connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  prepareMarkedStatements(pool);
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
