/** `npm run migrate`: applies pending migrations to DATABASE_URL (or the embedded database of `npm start`). */
import { connect } from './connect.ts';
import { withDatabase } from './database-url.ts';
import { migrateToLatest } from './migrate.ts';

try {
  await withDatabase(async (databaseUrl) => {
    const db = connect({ databaseUrl, maxConnections: 1 });
    try {
      const results = await migrateToLatest(db);
      for (const r of results) console.log(`${r.status}: ${r.migrationName}`);
      if (results.length === 0) console.log('schema already up to date');
    } finally {
      await db.destroy();
    }
  });
} catch (err) {
  console.error(`migrate failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
}
process.exit(0);
