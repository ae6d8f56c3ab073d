/**
 * Entry point: reads configuration, starts an embedded PostgreSQL when no
 * DATABASE_URL is given (data kept in DATA_DIR between restarts), migrates,
 * listens, and shuts everything down cleanly on SIGINT/SIGTERM.
 */
import path from 'node:path';
import { buildApp } from './app.ts';
import { loadConfig } from './config.ts';
import { connect } from './store/connect.ts';
import { portInUse, startEmbeddedPostgres, takeOverSignals, type EmbeddedDb } from './store/embedded-postgres.ts';
import { migrateToLatest } from './store/migrate.ts';
import { defaultRetry } from './subscriptions/backoff.ts';
import { devSigningKeysFile, loadKeySetFile } from './receta/signing-keys.ts';

/** A start-up problem the user can fix: one sentence on stderr, no stack trace. */
function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (err) {
  fail(`Configuration error: ${(err as Error).message}`);
}
const portBusy = (port: number) =>
  `Port ${port} on ${config.host} is already in use (is another \`npm start\` of this server running? \`curl -s http://127.0.0.1:${port}/healthz\` tells): stop it, or start this one with PORT=<another port>.`;
// Checked before the database starts, so that a second `npm start` leaves the first one alone.
if (await portInUse(config.port, config.host).catch(() => false)) fail(portBusy(config.port));
let embedded: EmbeddedDb | undefined;
let databaseUrl = config.databaseUrl;
if (!databaseUrl) {
  const dataDir = path.resolve(config.dataDir, 'pg');
  try {
    embedded = await startEmbeddedPostgres({ dataDir, port: Number(process.env.EMBEDDED_PG_PORT ?? 54329), persistent: true });
  } catch (err) {
    fail(`Could not start the embedded PostgreSQL: ${err instanceof Error ? err.message : String(err)} (Or set DATABASE_URL to use your own PostgreSQL.)`);
  }
  databaseUrl = embedded.url;
}

const migrationDb = connect({ databaseUrl, maxConnections: 1 });
await migrateToLatest(migrationDb);
await migrationDb.destroy();

const recetaSigningKeys = await loadKeySetFile(config.recetaSigningJwksFile ?? devSigningKeysFile(config.dataDir), config.recetaSigningJwksFile === undefined);
const app = await buildApp({
  recetaSigningKeys,
  databaseUrl,
  basePath: config.basePath,
  publicBaseUrl: config.publicBaseUrl,
  allowedHosts: config.allowedHosts,
  bodyLimit: config.bodyLimit,
  profileEnforcement: config.profileEnforcement,
  telemedicineConsent: config.telemedicineConsent,
  logger: { level: config.logLevel },
  auth: config.auth,
  authServer: config.authServer,
  corsOrigins: config.corsOrigins,
  rateLimitPerMinute: config.rateLimitPerMinute,
  requestTimeoutMs: config.requestTimeoutMs,
  maxBundleEntries: config.maxBundleEntries,
  auditReadCommit: config.auditReadCommit,
  exportDir: path.resolve(config.dataDir, 'exports'),
  subscriptions: {
    worker: true,
    pollMs: config.subscriptions.pollMs,
    endpoints: { allowed: config.subscriptions.allowedEndpoints },
    retry: { ...defaultRetry, giveUpAfterMs: config.subscriptions.retryHours * 3_600_000 },
  },
  importDir: path.resolve(config.dataDir, 'imports'),
  importAllowedSources: config.importAllowedSources,
  importMaxUploadBytes: config.importMaxUploadBytes,
});
// Start-up parsed ~60 MB of R4 definition JSON. V8 keeps that garbage, and the
// memory under it, until its first full collection, which on a host with
// plenty of RAM may come only under load; collect it before serving
// (`npm start` and the Dockerfile run node with --expose-gc for this one call).
(globalThis as { gc?: () => void }).gc?.();
if (!config.auth.issuer) {
  app.log.warn('AUTH_ISSUER not set: trusting the development signing key (npm run token); configure an issuer for production');
}
if (!config.recetaSigningJwksFile) {
  app.log.warn('RECETA_SIGNING_JWKS_FILE not set: recetas are signed with a development key kept in DATA_DIR; configure the institution key for production');
}

let stopping = false;
const shutdownGraceMs = 10_000;
/** The app first (requests, export and import jobs, the subscription worker and the pools end), then its PostgreSQL. */
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  app.log.info({ signal }, 'shutting down');
  let code = 0;
  // close() waits for every connection: one whose answer ended after close() began stays open as keep-alive
  // (Fastify's keepAliveTimeout, 72 s), one whose client stops reading until the socket timeout (70 s). Idle ones are
  // reaped as they go idle; after `shutdownGraceMs` the rest are cut.
  const reap = setInterval(() => app.server.closeIdleConnections(), 250);
  const cut = setTimeout(() => app.server.closeAllConnections(), shutdownGraceMs);
  try {
    await app.close();
  } catch (err) {
    app.log.error({ err }, 'shutdown: closing the server failed');
    code = 1;
  } finally {
    clearInterval(reap);
    clearTimeout(cut);
  }
  await embedded?.stop().catch((err: unknown) => {
    app.log.error({ err }, 'shutdown: stopping the embedded PostgreSQL failed');
    code = 1;
  });
  process.exit(code);
}
// The embedded PostgreSQL's own signal handlers would stop it under the closing app: this shutdown stops it, last.
takeOverSignals();
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
// A closed terminal: as the package did, stop cleanly rather than leave PostgreSQL running.
process.on('SIGHUP', () => void shutdown('SIGHUP'));

if (embedded?.note) app.log.warn(embedded.note);
try {
  await app.listen({ port: config.port, host: config.host });
} catch (err) {
  await embedded?.stop();
  if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') fail(portBusy(config.port));
  throw err;
}
app.log.info({ database: embedded ? `embedded (${config.dataDir})` : 'DATABASE_URL', base: config.basePath }, 'ECU FHIR server ready');
