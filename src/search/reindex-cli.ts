/** `npm run reindex`: rebuilds the search index rows of every resource in DATABASE_URL. */
import { loadDefinitions } from '../fhir/definitions.ts';
import { connect } from '../store/connect.ts';
import { reindexAll } from './reindex.ts';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error('DATABASE_URL is required');
  process.exit(2);
}
loadDefinitions();
const db = connect({ databaseUrl: url, maxConnections: 2 });
try {
  const n = await reindexAll(db, 500, (done) => console.log(`${done} resources indexed`));
  console.log(`done: ${n} resources`);
} finally {
  await db.destroy();
}
