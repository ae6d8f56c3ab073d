/** Liveness and readiness, for orchestrators and the Dockerfile HEALTHCHECK. */
import type { FastifyInstance } from 'fastify';
import { FhirError, issue } from '../fhir/errors.ts';
import { ping, type Db } from '../store/resource-store.ts';

export function registerHealth(app: FastifyInstance, db: Db): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async () => {
    try {
      await ping(db);
    } catch {
      throw new FhirError(503, [issue('transient', { es: 'La base de datos no responde', en: 'The database is not reachable' })]);
    }
    return { status: 'ready' };
  });
}
