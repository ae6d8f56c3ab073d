/** `npm run migrate`: applies pending migrations to DATABASE_URL. */
import { connect } from './connect.ts';
import { migrateToLatest } from './migrate.ts';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error('DATABASE_URL is required (npm start migrates its embedded database by itself)');
  process.exit(2);
}
const db = connect({ databaseUrl: url, maxConnections: 1 });
try {
  const results = await migrateToLatest(db);
  for (const r of results) console.log(`${r.status}: ${r.migrationName}`);
  if (results.length === 0) console.log('schema already up to date');
} finally {
  await db.destroy();
}
