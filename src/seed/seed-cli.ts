/**
 * `npm run seed`: loads the demo data set (examples/demo/) into DATABASE_URL,
 * else the embedded database of `npm start` (running or not), through an
 * in-process copy of the server: the same validation, stamping and audit as
 * over HTTP. Idempotent.
 */
import path from 'node:path';
import { buildApp } from '../app.ts';
import { devKeyFile, loadOrCreateDevKey } from '../auth/dev-key.ts';
import { mintDevToken } from '../auth/dev-token.ts';
import { parseCli } from '../cli/parse-cli.ts';
import { loadConfig } from '../config.ts';
import { devSigningKeysFile, loadKeySetFile } from '../receta/signing-keys.ts';
import { connect } from '../store/connect.ts';
import { withDatabase } from '../store/database-url.ts';
import { migrateToLatest } from '../store/migrate.ts';
import { loadDemo } from './load-demo.ts';

parseCli({
  command: 'seed',
  usage: `
Usage: npm run seed
       (in the Docker image: node dist/src/seed/seed-cli.js)

Loads the demo data set in examples/demo/: first-level and hospital units with CLUES
(IMSS, ISSSTE, SSA), two practitioners with cédula, three Mexican patients with CURP and
expediente, their consultations, vital signs, antecedentes recorded at each level of care,
two recetas, signed, and a referral from a UMF to a CMN's cardiology service by telemedicine
(its Task, the booked slot, the patient's consent and the virtual consultation). Uses DATABASE_URL, else the embedded database of \`npm start\` in
DATA_DIR (the running server's, or started for the duration of the command).
Running it again writes nothing new.

Options:
  -h, --help    this text
`,
  options: {},
});

const config = loadConfig();
try {
  await withDatabase(async (databaseUrl) => {
    const migrationDb = connect({ databaseUrl, maxConnections: 1 });
    await migrateToLatest(migrationDb).finally(() => migrationDb.destroy());
    const devKey = await loadOrCreateDevKey(devKeyFile(config.dataDir));
    const app = await buildApp({
      databaseUrl,
      basePath: config.basePath,
      logger: false,
      // The seed's own tokens are signed by the development key, whatever issuer the server trusts.
      auth: { audience: config.auth.audience, devKeyFile: devKeyFile(config.dataDir) },
      rateLimitPerMinute: 0,
      profileEnforcement: config.profileEnforcement,
      // The server's receta key, so that the recetas signed here verify there.
      recetaSigningKeys: await loadKeySetFile(config.recetaSigningJwksFile ?? devSigningKeysFile(config.dataDir), config.recetaSigningJwksFile === undefined),
      exportDir: path.resolve(config.dataDir, 'exports'),
    });
    try {
      const report = await loadDemo(
        async (method, url, token, body) => {
          const res = await app.inject({ method, url: `${config.basePath}${url}`, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/fhir+json' } : {}) }, payload: body === undefined ? undefined : JSON.stringify(body) });
          return { status: res.statusCode, body: res.body };
        },
        async (claims) => (await mintDevToken(devKey, { ...claims, hours: 1, audience: config.auth.audience })).token,
      );
      const types = Object.entries(report.byType).map(([type, n]) => `${n} ${type}`).join(', ');
      console.log(`demo data: ${types}; ${report.written} written, ${report.present} already there, ${report.signed} receta(s) signed`);
    } finally {
      await app.close();
    }
  });
} catch (err) {
  console.error(`seed failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
process.exit(0);
