/** `npm run reindex`: rebuilds the search index rows of every resource in DATABASE_URL (or the embedded database of `npm start`). */
import { parseCli } from '../cli/parse-cli.ts';
import { loadDefinitions } from '../fhir/definitions.ts';
import { connect } from '../store/connect.ts';
import { withDatabase } from '../store/database-url.ts';
import { reindexAll } from './reindex.ts';

parseCli({
  command: 'reindex',
  usage: `
Usage: npm run reindex
       (in the Docker image: node dist/src/search/reindex-cli.js)

Rebuilds the search index rows of every stored resource (after adding a search
parameter, or for data written before the index existed). Uses DATABASE_URL, else the
embedded database of \`npm start\` in DATA_DIR (the running server's, or started for the
duration of the command). Safe while the server runs.

Options:
  -h, --help    this text
`,
  options: {},
});

try {
  await withDatabase(async (databaseUrl) => {
    loadDefinitions();
    const db = connect({ databaseUrl, maxConnections: 2 });
    try {
      const n = await reindexAll(db, 500, (done) => console.log(`${done} resources indexed`));
      console.log(`done: ${n} resources`);
    } finally {
      await db.destroy();
    }
  });
} catch (err) {
  console.error(`reindex failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
}
// Explicit: the embedded database's exit hook would otherwise turn any exit code into 0.
process.exit(0);
