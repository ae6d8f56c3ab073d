/**
 * `npm run client -- register --clues DFIST000123 (--jwks-url https://… | --jwks-file keys.json) --scope 'system/*.rs' [--role institution] [--client-id id]`
 * `npm run client -- list`
 * Writes the registry directly in DATABASE_URL (or the embedded database of
 * `npm start`), for local use and deployments without an admin token. The
 * client id is the last line printed.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { connect } from '../../store/connect.ts';
import { withDatabase } from '../../store/database-url.ts';
import { migrateToLatest } from '../../store/migrate.ts';
import { parseRegistration } from './client-registration.ts';
import { listClients, saveClient } from './client-store.ts';

const usage = "usage: npm run client -- register --clues <CLUES> (--jwks-url <url> | --jwks-file <file>) --scope 'system/*.rs' [--role institution] [--client-id <id>]\n       npm run client -- list";
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    clues: { type: 'string' },
    'jwks-url': { type: 'string' },
    'jwks-file': { type: 'string' },
    scope: { type: 'string' },
    role: { type: 'string' },
    'client-id': { type: 'string' },
    help: { type: 'boolean' },
  },
});
const command = positionals[0];
if (values.help || (command !== 'register' && command !== 'list')) {
  console.error(usage);
  process.exit(values.help ? 0 : 2);
}

try {
  const registration =
    command === 'register'
      ? parseRegistration({
          clientId: values['client-id'],
          clues: values.clues,
          jwksUrl: values['jwks-url'],
          jwks: values['jwks-file'] ? JSON.parse(readFileSync(values['jwks-file'], 'utf8')) : undefined,
          scope: values.scope,
          role: values.role,
        })
      : undefined;
  await withDatabase(async (databaseUrl) => {
    const db = connect({ databaseUrl, maxConnections: 1 });
    try {
      await migrateToLatest(db);
      if (registration) {
        await saveClient(db, registration);
        console.error(`registered client for ${registration.clues}, role ${registration.role}, scope "${registration.scope}"`);
        console.log(registration.clientId);
      } else {
        for (const c of await listClients(db)) console.log(`${c.clientId}\t${c.clues}\t${c.role}\t${c.scope}\t${c.jwksUrl ?? 'inline JWKS'}`);
      }
    } finally {
      await db.destroy();
    }
  });
} catch (err) {
  console.error(`client ${command} failed: ${err instanceof Error ? err.message : String(err)}`);
  console.error(usage);
  process.exit(2);
}
process.exit(0);
