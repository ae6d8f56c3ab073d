/**
 * Unmatched requests: 405 (with Allow) when the path exists under another
 * method, 404 otherwise; both as OperationOutcomes.
 */
import type { FastifyInstance } from 'fastify';
import { isResourceType } from '../fhir/definitions.ts';
import { methodNotAllowed, notFound } from '../fhir/errors.ts';
import { sendFhir } from './send.ts';

export function registerNotFound(app: FastifyInstance, basePath: string): void {
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]?.replace(/\/+$/, '') || '/';
    const relative = path.startsWith(`${basePath}/`) ? path.slice(basePath.length + 1) : undefined;
    const first = relative?.split('/')[0];
    if (first !== undefined && !first.startsWith('_') && !first.startsWith('$') && first !== 'metadata' && !isResourceType(first)) {
      const error = notFound({ es: `Tipo de recurso desconocido en FHIR R4: "${first}"`, en: `Unknown FHIR R4 resource type: "${first}"` }, 'resourceType');
      return sendFhir(reply, { status: error.status, body: error.outcome });
    }
    const allow = [...new Set(app.knownRoutes.filter((r) => patternToRegExp(r.url).test(path)).map((r) => r.method))].sort();
    const error = allow.length > 0 ? methodNotAllowed(request.method, path, allow) : notFound({ es: `No existe la ruta ${path}`, en: `No route ${path}` });
    return sendFhir(reply, { status: error.status, headers: error.headers, body: error.outcome });
  });
}

function patternToRegExp(url: string): RegExp {
  const escaped = url
    .replace(/\/+$/, '')
    .split('/')
    // A parameter (`:type`, `:id`) never takes a reserved name (`_history`) or an operation (`$export`).
    .map((seg) => (seg.startsWith(':') ? '[^/_$][^/]*' : seg === '*' ? '.*' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${escaped || '/'}$`);
}
