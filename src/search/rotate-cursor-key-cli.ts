/**
 * `npm run cursor:rotate-key [-- --keep 2]` (DATABASE_URL must be set): adds a
 * new paging-cursor key, which every instance uses to seal cursors within a
 * minute; with `--keep N`, removes all but the newest N keys (cursors sealed
 * with a removed key answer 400; cursors live a day at most, so keep the
 * previous key at least that long).
 */
import { parseArgs } from 'node:util';
import { connect } from '../store/connect.ts';
import { retireCursorKeys, rotateCursorKey } from './cursor-keys.ts';

const { values } = parseArgs({ options: { keep: { type: 'string' } } });
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  console.error('DATABASE_URL must name the database the servers share');
  process.exit(2);
}
const keep = values.keep === undefined ? undefined : Number(values.keep);
if (keep !== undefined && (!Number.isInteger(keep) || keep < 1)) {
  console.error('--keep must be a whole number of keys, at least 1');
  process.exit(2);
}
const db = connect({ databaseUrl, maxConnections: 1 });
try {
  const id = await rotateCursorKey(db);
  if (keep !== undefined) await retireCursorKeys(db, keep);
  console.log(`cursor key ${id} added${keep !== undefined ? `; the newest ${keep} kept` : ''}`);
} finally {
  await db.destroy();
}
