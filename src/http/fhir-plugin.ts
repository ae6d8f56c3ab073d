/**
 * Adapts HTTP to the FHIR core: one Fastify route per entry of `fhirRoutes`,
 * each turning the request into a `FhirRequest` and the `FhirResult` back
 * into a reply.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isResourceType } from '../fhir/definitions.ts';
import { notFound } from '../fhir/errors.ts';
import { ownBaseUrls } from '../fhir/normalize-reference.ts';
import { fhirRoutes } from '../fhir/routes.ts';
import type { FhirContext, FhirRequest, HttpMethod, Query } from '../fhir/types.ts';
import { accessFor, authorize, filterResult } from '../auth/guard.ts';
import { patientsInQuery, patientsInResult } from '../audit/request-patients.ts';
import { registerJsonParsers } from './json-body.ts';
import { checkFormat } from './negotiate.ts';
import { publicBase } from './public-base.ts';
import { sendFhir } from './send.ts';

export interface FhirPluginOptions {
  basePath: string;
  publicBaseUrl?: string;
  /** Host names (ALLOWED_HOSTS) this server is also reached by: trusted to name it when publicBaseUrl is not set (public-base.ts), and absolute references under them are ours. */
  allowedHosts?: readonly string[];
  context: Omit<FhirContext, 'baseUrl' | 'actor' | 'audit' | 'deadline'>;
  /** REQUEST_TIMEOUT_MS and the connections' statement timeout, for each request's deadline (fhir/deadline.ts). */
  timeouts?: { limitMs: number; statementMs: number };
}

type Params = { type?: string; id?: string; vid?: string };

export function registerFhirRoutes(app: FastifyInstance, options: FhirPluginOptions): void {
  registerJsonParsers(app);
  // POST _search sends its parameters as a form; the search interaction reads the raw string.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  const baseUrlOf = publicBase(options);
  for (const route of fhirRoutes) {
    app.route<{ Params: Params; Querystring: Query }>({
      method: route.method,
      url: `${options.basePath}${route.path}`,
      handler: async (request, reply) => {
        // Reserved system paths (/_history, /_search) and system operations (/$export) are never a resource type: answer as for an unknown route (405 with Allow).
        if (request.params.type?.startsWith('_') || request.params.type?.startsWith('$') || request.params.id?.startsWith('$')) return reply.callNotFound();
        const req = toFhirRequest(request, route.method, route.resourceType, route.formats);
        const baseUrl = baseUrlOf(request);
        const ownBases = ownBaseUrls({ publicBaseUrl: options.publicBaseUrl, allowedHosts: options.allowedHosts, basePath: options.basePath, requestBaseUrl: baseUrl });
        const { actor, audit } = request;
        if (!route.interaction || !actor || !audit) {
          // Public routes (metadata) only: the auth hook gives every other route an actor.
          return sendFhir(reply, await route.handler(req, { ...options.context, baseUrl, ownBaseUrls: ownBases }));
        }
        audit.interaction = route.interaction;
        audit.resourceType = req.resourceType;
        audit.resourceId = req.id;
        audit.versionId = req.versionId;
        for (const id of patientsInQuery(req)) audit.patients.add(id);
        const access = route.access ? route.access(req) : accessFor(route.interaction, req.resourceType);
        if (access) {
          authorize(actor, access);
        }
        const { timeouts } = options;
        const deadline = timeouts && request.deadlineAt !== undefined ? { at: request.deadlineAt, ...timeouts } : undefined;
        const result = await route.handler(req, { ...options.context, baseUrl, ownBaseUrls: ownBases, actor, audit, deadline });
        const single = route.interaction === 'read' || route.interaction === 'vread';
        // A write answers with what the client itself sent; only reads are filtered (writes were checked in their transaction).
        const reading = access?.permission === 'r' || access?.permission === 's';
        const visible = reading ? filterResult(actor, single, result) : result;
        if (single) {
          for (const id of patientsInResult(visible)) audit.patients.add(id);
        }
        return sendFhir(reply, visible);
      },
    });
  }
}

function toFhirRequest(request: FastifyRequest<{ Params: Params; Querystring: Query }>, method: HttpMethod, fixedType?: string, formats?: readonly string[]): FhirRequest {
  const query = request.query;
  checkFormat(typeof query._format === 'string' ? query._format : undefined, request.headers.accept, formats);
  const { id, vid } = request.params;
  const type = request.params.type ?? fixedType;
  if (type !== undefined && !isResourceType(type)) {
    throw notFound({ es: `Tipo de recurso desconocido en FHIR R4: "${type}"`, en: `Unknown FHIR R4 resource type: "${type}"` }, 'resourceType');
  }
  return {
    method,
    resourceType: type,
    id,
    versionId: vid,
    query,
    body: request.body,
    contentType: header(request, 'content-type'),
    headers: {
      ifMatch: header(request, 'if-match'),
      ifNoneMatch: header(request, 'if-none-match'),
      ifModifiedSince: header(request, 'if-modified-since'),
      prefer: header(request, 'prefer'),
      accept: header(request, 'accept'),
      ifNoneExist: header(request, 'if-none-exist'),
    },
  };
}

/** A header's value; repeated headers are joined as HTTP allows for list-valued headers. */
function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}
