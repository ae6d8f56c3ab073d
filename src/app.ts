/**
 * The application factory: builds the Fastify app on a database and never
 * listens, so tests drive the real thing. `src/main.ts` is the entry point.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { loadDefinitions } from './fhir/definitions.ts';
import { registerDocs } from './http/docs.ts';
import { registerErrorHandler } from './http/error-handler.ts';
import { registerFhirRoutes } from './http/fhir-plugin.ts';
import { registerHealth } from './http/health.ts';
import { registerNotFound } from './http/not-found.ts';
import { trackRoutes } from './http/route-table.ts';
import { indexWriteHook } from './search/write-index.ts';
import { connect } from './store/connect.ts';
import { prepareValidation, validateBase } from './validation/validate-base.ts';

export interface AppOptions {
  databaseUrl: string;
  basePath?: string;
  publicBaseUrl?: string;
  bodyLimit?: number;
  /** pino options, `false` to silence (tests). */
  logger?: FastifyServerOptions['logger'];
  maxConnections?: number;
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  loadDefinitions();
  const basePath = options.basePath ?? '/fhir';
  const bodyLimit = options.bodyLimit ?? 16 * 1024 * 1024;
  const db = connect({ databaseUrl: options.databaseUrl, maxConnections: options.maxConnections });

  const app = Fastify({
    logger: options.logger ?? { level: 'info' },
    bodyLimit,
    routerOptions: { ignoreTrailingSlash: true },
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // Fastify's two lines per request are replaced by our one (onResponse below).
    logController: new LogController({ disableRequestLogging: true }),
  });

  trackRoutes(app);
  // One line per request; the URL is left out on purpose: queries can carry CURPs and names.
  app.addHook('onResponse', async (request, reply) => {
    request.log.info({ method: request.method, route: request.routeOptions.url ?? 'unmatched', status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request');
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onClose', async () => {
    await db.destroy();
  });

  prepareValidation();
  registerErrorHandler(app, bodyLimit);
  registerNotFound(app, basePath);
  registerHealth(app, db);
  await registerDocs(app);
  registerFhirRoutes(app, {
    basePath,
    publicBaseUrl: options.publicBaseUrl,
    context: { db, now: () => new Date(), validate: validateBase, writeHooks: [indexWriteHook] },
  });
  return app;
}
