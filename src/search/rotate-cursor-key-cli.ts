/**
 * `npm run cursor:rotate-key [-- --keep 2]`: adds a new paging-cursor key,
 * which every instance uses to seal cursors within a minute; with `--keep N`,
 * removes all but the newest N keys (cursors sealed with a removed key answer
 * 400; cursors live a day at most, so keep the previous key at least that long).
 */
import { parseCli, usageError } from '../cli/parse-cli.ts';
import { connect } from '../store/connect.ts';
import { withDatabase } from '../store/database-url.ts';
import { retireCursorKeys, rotateCursorKey } from './cursor-keys.ts';

const values = parseCli({
  command: 'cursor:rotate-key',
  usage: `
Usage: npm run cursor:rotate-key [-- --keep N]
       (in the Docker image: node dist/src/search/rotate-cursor-key-cli.js [--keep N])

Adds a new key for sealing paging cursors; every server instance seals with it within a
minute and still opens cursors sealed with the older keys. Uses DATABASE_URL when set,
otherwise the embedded database in DATA_DIR.

Options:
  --keep <N>    then remove all but the newest N keys (cursors sealed with a removed key
                answer 400; a cursor lives a day at most, so remove a key a day after
                the next one was added)
  -h, --help    this text
`,
  options: { keep: { type: 'string' } },
});
const keep = values.keep === undefined ? undefined : Number(values.keep);
if (keep !== undefined && (!Number.isInteger(keep) || keep < 1)) {
  usageError('cursor:rotate-key', `--keep must be a whole number of keys, at least 1 (got "${values.keep}")`);
}
try {
  await withDatabase(async (databaseUrl) => {
    const db = connect({ databaseUrl, maxConnections: 1 });
    try {
      const id = await rotateCursorKey(db);
      if (keep !== undefined) await retireCursorKeys(db, keep);
      console.log(`cursor key ${id} added${keep !== undefined ? `; the newest ${keep} kept` : ''}`);
    } finally {
      await db.destroy();
    }
  });
} catch (err) {
  console.error(`cursor:rotate-key failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
process.exit(0);
