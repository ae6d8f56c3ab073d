import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './database.ts';
import { prepareMarkedStatements } from './prepared.ts';

export interface DbOptions {
  databaseUrl: string;
  maxConnections?: number;
  /** statement_timeout of every connection (the API's: a little under the request time limit); absent: none. */
  statementTimeoutMs?: number;
  /** How long a query waits for a connection before failing (503) instead of queueing forever. Default 10 s. */
  connectTimeoutMs?: number;
}

export function connect(options: DbOptions): Kysely<Database> {
  const timeout = options.statementTimeoutMs;
  const pool = new pg.Pool({
    connectionString: options.databaseUrl,
    max: options.maxConnections ?? 20,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    ...(timeout ? { statement_timeout: timeout } : {}),
  });
  containErrors(pool);
  prepareMarkedStatements(pool);
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

/**
 * A pg client emits 'error' when its connection breaks (PostgreSQL restarted,
 * network cut). The pool listens only while the client is idle; a client
 * checked out (inside a transaction, or between two statements) has no
 * listener, and an 'error' event without one ends the process. Every client
 * gets a listener for its whole life: the query in flight fails on its own
 * (answered 503) and the pool drops the broken client when it is released.
 */
export function containErrors(pool: pg.Pool): void {
  pool.on('error', () => undefined);
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
}
