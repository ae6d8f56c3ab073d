/**
 * The routes the app really registered, as Fastify reports them. The 405
 * handler and the OpenAPI test read this instead of a list kept by hand.
 */
import type { FastifyInstance } from 'fastify';

export interface KnownRoute {
  method: string;
  url: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    knownRoutes: readonly KnownRoute[];
  }
}

export function trackRoutes(app: FastifyInstance): void {
  const routes: KnownRoute[] = [];
  app.decorate('knownRoutes', routes);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      routes.push({ method, url: route.url ?? route.path });
    }
  });
}
