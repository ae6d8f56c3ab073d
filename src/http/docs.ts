/** The OpenAPI description (`/openapi.yaml`) and Swagger UI on it (`/docs`). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

export const openapiFile = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../openapi.yaml');

export interface DocsOptions {
  basePath: string;
  /** FHIR_BASE_URL (…/fhir), when the server is reached through a proxy. */
  publicBaseUrl?: string;
}

export async function registerDocs(app: FastifyInstance, options: DocsOptions): Promise<void> {
  const text = readFileSync(openapiFile, 'utf8');
  app.get('/openapi.yaml', async (_request, reply) => reply.type('application/yaml; charset=utf-8').send(text));
  await app.register(swagger, { mode: 'static', specification: { path: openapiFile, baseDir: path.dirname(openapiFile) } });
  // Swagger UI's "Try it out" calls the server it is served from (or FHIR_BASE_URL's origin and prefix), never a fixed host.
  const fromConfig = options.publicBaseUrl?.endsWith(options.basePath) ? options.publicBaseUrl.slice(0, -options.basePath.length) : undefined;
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    transformSpecificationClone: true,
    transformSpecification: (spec, request) => ({ ...spec, servers: [{ url: fromConfig ?? `${request.protocol}://${request.host}` }] }),
  });
}
