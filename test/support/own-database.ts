/**
 * A database of its own, on the run's PostgreSQL server, for tests whose data
 * must not meet other files' data: e.g. loading the Synthea corpus, whose
 * organizations other files also create (POST, not conditional), which would
 * make the corpus's conditional references ambiguous (412) depending on
 * which file ran first.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { connect } from '../../src/store/connect.ts';
import { migrateToLatest } from '../../src/store/migrate.ts';

export async function createOwnDatabase(serverUrl: string): Promise<string> {
  const name = `ecu_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const db = connect({ databaseUrl: url.toString(), maxConnections: 1 });
  try {
    await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
  return url.toString();
}
