/** `npm run migrate`: applies pending migrations to DATABASE_URL (or the embedded database of `npm start`). */
import { parseCli } from '../cli/parse-cli.ts';
import { connect } from './connect.ts';
import { withDatabase } from './database-url.ts';
import { migrateToLatest } from './migrate.ts';

parseCli({
  command: 'migrate',
  usage: `
Usage: npm run migrate
       (in the Docker image: node dist/src/store/migrate-cli.js)

Applies pending migrations (migrations/) to DATABASE_URL, else to the embedded database
of \`npm start\` in DATA_DIR. The server also migrates at start-up.

Options:
  -h, --help    this text
`,
  options: {},
});

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
