/**
 * The application factory: builds the Fastify app on a database and never
 * listens, so tests drive the real thing. `src/main.ts` is the entry point.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { loadDefinitions } from './fhir/definitions.ts';
import { registerDocs } from './http/docs.ts';
import { registerErrorHandler } from './http/error-handler.ts';
import { registerFhirRoutes } from './http/fhir-plugin.ts';
import { registerHealth } from './http/health.ts';
import { registerHomePage } from './http/home-page.ts';
import { ExportService } from './export/export-service.ts';
import { ImportService } from './import/import-service.ts';
import { registerNdjsonUpload } from './import/upload.ts';
import { registerNotFound } from './http/not-found.ts';
import { trackRoutes } from './http/route-table.ts';
import { indexWriteStatement } from './search/write-index.ts';
import { CursorKeys } from './search/cursor-keys.ts';
import { connect } from './store/connect.ts';
import { devIssuer } from './auth/dev-key.ts';
import { compartmentWriteGuard } from './auth/guard.ts';
import { stampWriter } from './auth/writer-stamp.ts';
import { createTokenVerifier, rememberVerified, type AuthSettings } from './auth/verify-token.ts';
import { auditWriteStatement } from './audit/audit-hook.ts';
import { AuditTrail, type ReadAuditCommit } from './audit/audit-trail.ts';
import { registerAuth } from './http/auth.ts';
import { registerHardening } from './http/hardening.ts';
import { clientErrorHandler, frameworkErrors } from './http/framework-errors.ts';
import { registerInputLimits } from './http/input-limits.ts';
import { databaseTimeouts, registerRequestTimeout } from './http/request-timeout.ts';
import { addressKey, RequestLimiter } from './http/rate-limit.ts';
import { WindowCounter } from './store/window-counter.ts';
import { registerSmartConfiguration } from './http/smart-configuration.ts';
import { registerAuthServer } from './http/auth-server.ts';
import { loadOrCreateServerKey } from './auth/server/client-store.ts';
import { authServerIssuer, loadClientsFile, withOwnTokens } from './auth/server/own-tokens.ts';
import { prepareValidation, validateBase } from './validation/validate-base.ts';
import { prepareSearchParameters } from './search/search-parameters.ts';
import { curpUniqueHook } from './identity/curp-unique-hook.ts';
import { profileValidator } from './validation/profile-hook.ts';
import type { ProfileEnforcement } from './validation/validate-profiles.ts';
import { recetaPredicate } from './receta/context.ts';
import { keyRing, newSigningKey, type KeySet } from './receta/signing-keys.ts';
import { recetaWriteHook } from './receta/write-hook.ts';
import { registerRecetaJwks } from './http/receta-jwks.ts';
import { stampAuthoringUnit } from './summary/authoring-unit.ts';
import { referralTaskNeedsIfMatch, referralWriteHook } from './referral/write-hook.ts';
import type { ConsentPolicy } from './referral/encounter-hook.ts';
import { stampSubscription, subscriptionWriteHook } from './subscriptions/registry.ts';
import { SubscriptionWorker, type WorkerOptions } from './subscriptions/delivery.ts';
import { defaultRetry } from './subscriptions/backoff.ts';

export interface AppOptions {
  databaseUrl: string;
  basePath?: string;
  publicBaseUrl?: string;
  /** ALLOWED_HOSTS: other names this server is reached by — trusted Host headers for absolute URLs when publicBaseUrl is absent (others get the listening address), and absolute references under them are stored relative. */
  allowedHosts?: string[];
  bodyLimit?: number;
  /** pino options, `false` to silence (tests). */
  logger?: FastifyServerOptions['logger'];
  maxConnections?: number;
  /** Who may call: token issuer, audience and keys (see src/auth/verify-token.ts). */
  auth: AuthSettings;
  corsOrigins?: string[];
  /** Requests per minute per client (verified token issuer+subject, else address), counted for all instances in PostgreSQL; 0 disables. Default 6000. */
  rateLimitPerMinute?: number;
  /** Failed authentications are audited once per address per this many seconds, with a count; 0 audits each one. Default 60. */
  failedAuthAuditSeconds?: number;
  requestTimeoutMs?: number;
  /** Largest transaction/batch bundle accepted; default 10,000 entries (the body size limit applies too). */
  maxBundleEntries?: number;
  /** false only in benchmarks measuring the cost of authentication and audit (bench/server.ts). */
  security?: boolean;
  /** false only in benchmarks measuring what writing search index rows costs (bench/server.ts): searches then find nothing new. */
  searchIndexing?: boolean;
  /** MX profiles: `strict` (default) for every resource of a profiled type, `declared` only for those in meta.profile. */
  profileEnforcement?: ProfileEnforcement;
  /** Receta signing keys (private JWKs; the first signs). Absent: one ephemeral key (tests only: signatures die with the process). */
  recetaSigningKeys?: KeySet;
  /** AUDIT_READ_COMMIT: `durable` (default) waits for the disk before answering a read; `fast` does not (see audit-trail.ts). */
  auditReadCommit?: ReadAuditCommit;
  /** Where bulk export NDJSON files are written (main.ts: DATA_DIR/exports). Default ./.data/exports. */
  exportDir?: string;
  /** Where NDJSON uploaded to $import waits for its job (main.ts: DATA_DIR/imports). Default ./.data/imports. */
  importDir?: string;
  /** IMPORT_ALLOWED_SOURCES: URL prefixes $import may fetch NDJSON from; empty: uploads only. */
  importAllowedSources?: string[];
  /** Largest NDJSON upload to $import (IMPORT_MAX_UPLOAD_BYTES). Default 4 GiB. */
  importMaxUploadBytes?: number;
  /** Import job tuning (tests: short leases, small chunks, an instance that never runs jobs). */
  importJobs?: { leaseSeconds?: number; chunkSize?: number; sendEvery?: number; run?: boolean };
  /** TELEMEDICINE_CONSENT: a virtual Encounter needs the patient's telemedicine Consent (`required`, default) or not (`off`). */
  telemedicineConsent?: ConsentPolicy;
  /**
   * Subscriptions: SUBSCRIPTION_ALLOWED_ENDPOINTS (`endpoints.allowed`), retry policy, polling. `worker: true`
   * runs this instance's delivery worker (main.ts does; tests ask for it on their own database, since every
   * instance on a database must share one endpoint policy). Events need nothing
   * from the write path: the worker's fan-out reads them from resource_history (src/subscriptions/fan-out.ts).
   */
  subscriptions?: Partial<WorkerOptions> & { worker?: boolean };
  /** The server's clock (tests that need known durations, e.g. referral turnaround); default the system clock. */
  clock?: () => Date;
  /** The built-in authorization server for system clients (SMART Backend Services); see src/auth/server. */
  authServer?: { tokenLifetimeSeconds?: number; clientsFile?: string };
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  loadDefinitions();
  const basePath = options.basePath ?? '/fhir';
  const bodyLimit = options.bodyLimit ?? 16 * 1024 * 1024;
  const requestTimeoutMs = options.requestTimeoutMs ?? 60_000;
  const dbTimeouts = databaseTimeouts(requestTimeoutMs);
  const db = connect({ databaseUrl: options.databaseUrl, maxConnections: options.maxConnections, ...dbTimeouts });

  const app = Fastify({
    logger: options.logger ?? { level: 'info' },
    bodyLimit,
    routerOptions: { ignoreTrailingSlash: true },
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // Fastify's two lines per request are replaced by our one (onResponse below).
    logController: new LogController({ disableRequestLogging: true }),
    // A client that does not finish sending its request is answered 408 (framework-errors.ts); a slow
    // answer 503 (request-timeout.ts). The idle socket timeout is longer, so it never cuts an answer short.
    requestTimeout: requestTimeoutMs,
    connectionTimeout: requestTimeoutMs > 0 ? requestTimeoutMs + 10_000 : 0,
    frameworkErrors,
    clientErrorHandler,
  });
  registerRequestTimeout(app, requestTimeoutMs);

  trackRoutes(app);
  // One line per request; the URL is left out on purpose: queries can carry CURPs and names.
  // Callback hooks (nothing to await): an async hook costs a promise and a microtask turn on every request.
  app.addHook('onResponse', (request, reply, done) => {
    request.log.info({ method: request.method, route: request.routeOptions.url ?? 'unmatched', status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request');
    done();
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    done(null, payload);
  });
  const exports = new ExportService(db, {
    databaseUrl: options.databaseUrl,
    dir: options.exportDir ?? path.resolve('.data', 'exports'),
    log: (err, message) => app.log.error({ err }, message),
  });
  await exports.start();
  const importDir = options.importDir ?? path.resolve('.data', 'imports');
  const imports = new ImportService(db, {
    dir: importDir,
    allowedSources: options.importAllowedSources ?? [],
    ...options.importJobs,
    log: (err, message) => app.log.error({ err }, message),
  });
  app.addHook('onClose', async () => {
    // Running exports stop (and are marked failed), running imports hand their lease on, and the last request counts are sent, before their database goes away.
    await imports.close();
    await exports.close();
    await counter.close().catch(() => undefined);
    await db.destroy();
  });

  prepareValidation();
  for (const problem of prepareSearchParameters()) app.log.error({ problem }, 'Parámetro de búsqueda no evaluable; no se indexa / Search parameter cannot be evaluated; not indexed');
  // Tokens of the built-in authorization server are trusted beside AUTH_ISSUER's (or the development key's).
  const serverKey = await loadOrCreateServerKey(db);
  if (options.authServer?.clientsFile) await loadClientsFile(db, options.authServer.clientsFile);
  const ownIssuer = authServerIssuer(options.publicBaseUrl);
  const verify = rememberVerified(withOwnTokens(await createTokenVerifier(options.auth), { issuer: ownIssuer, audience: options.auth.audience, publicJwk: serverKey.publicJwk }));
  const trail = new AuditTrail(db, options.auditReadCommit);
  await registerHardening(app, { corsOrigins: options.corsOrigins });
  const secure = options.security !== false;
  const maxPerMinute = options.rateLimitPerMinute ?? 6000;
  const counter = new WindowCounter(db, { windowMs: 60_000, log: (err) => app.log.error({ err }, 'rate limit counts could not be stored') });
  const limiter = maxPerMinute > 0 ? new RequestLimiter(counter, maxPerMinute) : undefined;
  const intervalMs = (options.failedAuthAuditSeconds ?? 60) * 1000;
  if (secure) {
    registerAuth(app, { basePath, verify, trail, limiter, failedAuthAudit: intervalMs > 0 ? { db, intervalMs } : undefined });
  } else if (limiter) {
    app.addHook('onRequest', async (request) => limiter.enforce(addressKey(request.ip)));
  }
  registerInputLimits(app);
  registerSmartConfiguration(app, { basePath, issuer: options.auth.issuer ?? devIssuer, jwksUrl: options.auth.jwksUrl, publicBaseUrl: options.publicBaseUrl, allowedHosts: options.allowedHosts });
  const receta = { keys: await keyRing(options.recetaSigningKeys ?? { keys: [await newSigningKey()] }), isReceta: recetaPredicate(options.profileEnforcement ?? 'strict') };
  registerRecetaJwks(app, basePath, receta.keys);
  registerAuthServer(app, { db, key: serverKey, issuer: ownIssuer, audience: options.auth.audience, tokenLifetimeSeconds: options.authServer?.tokenLifetimeSeconds ?? 300, publicBaseUrl: options.publicBaseUrl, allowedHosts: options.allowedHosts, verify, trail: secure ? trail : undefined });
  registerErrorHandler(app, bodyLimit, requestTimeoutMs);
  registerNotFound(app, basePath);
  registerHealth(app, db);
  await registerDocs(app, { basePath, publicBaseUrl: options.publicBaseUrl });
  registerHomePage(app, basePath);
  registerNdjsonUpload(app, { dir: importDir, maxBytes: options.importMaxUploadBytes ?? 4 * 1024 ** 3 });
  const subscriptionOptions: WorkerOptions = {
    pollMs: 200,
    leaseMs: 60_000,
    requestTimeoutMs: 10_000,
    lanes: 8,
    ...options.subscriptions,
    retry: { ...defaultRetry, ...options.subscriptions?.retry },
    endpoints: { allowed: options.subscriptions?.endpoints?.allowed ?? [] },
  };
  const context = {
    db,
    now: options.clock ?? (() => new Date()),
    validate: validateBase,
    validateProfiles: profileValidator(options.profileEnforcement ?? 'strict'),
    writeChecks: secure ? [compartmentWriteGuard] : [],
    writeStatements: [
      ...(options.searchIndexing === false ? [] : [indexWriteStatement]),
      ...(secure ? [auditWriteStatement()] : []),
    ],
    // The receta rules hold with or without security; they lock and read, so they run in the write's transaction.
    writeHooks: [
      recetaWriteHook({ isReceta: receta.isReceta, strict: (options.profileEnforcement ?? 'strict') === 'strict' }),
      referralWriteHook({ telemedicineConsent: options.telemedicineConsent }),
      curpUniqueHook,
      subscriptionWriteHook(subscriptionOptions.endpoints),
    ],
    requiresIfMatch: referralTaskNeedsIfMatch,
    stampHooks: secure ? [stampAuthoringUnit, stampWriter, stampSubscription] : [stampAuthoringUnit, stampSubscription],
    auditTrail: secure ? trail : undefined,
    maxBundleEntries: options.maxBundleEntries,
    receta,
    exports,
    imports,
    cursorKeys: new CursorKeys(db),
  };
  registerFhirRoutes(app, {
    basePath,
    timeouts: dbTimeouts.statementTimeoutMs ? { limitMs: requestTimeoutMs, statementMs: dbTimeouts.statementTimeoutMs } : undefined,
    publicBaseUrl: options.publicBaseUrl,
    allowedHosts: options.allowedHosts,
    context,
  });
  imports.start(context);
  if (options.subscriptions?.worker) {
    const worker = new SubscriptionWorker(db, context, subscriptionOptions, (err, message) => app.log.error({ err }, message));
    worker.start();
    // preClose runs before every onClose hook, so the worker stops before its database is destroyed.
    app.addHook('preClose', async () => worker.close());
  }
  return app;
}
