/** The OpenAPI description (`/openapi.yaml`) and Swagger UI on it (`/docs`). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

export const openapiFile = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../openapi.yaml');

export async function registerDocs(app: FastifyInstance): Promise<void> {
  const text = readFileSync(openapiFile, 'utf8');
  app.get('/openapi.yaml', async (_request, reply) => reply.type('application/yaml; charset=utf-8').send(text));
  await app.register(swagger, { mode: 'static', specification: { path: openapiFile, baseDir: path.dirname(openapiFile) } });
  await app.register(swaggerUi, { routePrefix: '/docs' });
}
