/**
 * The one list of FHIR interactions the server implements. Routes,
 * the CapabilityStatement and the OpenAPI check are all derived from it, so
 * what the server says it does cannot drift from what it does.
 */
import { capabilities } from './capabilities.ts';
import { conditionalCreate, conditionalDelete, conditionalPatch, conditionalUpdate } from './conditional.ts';
import { remove } from './delete.ts';
import { history } from './history.ts';
import { patch } from './patch.ts';
import { read } from './read.ts';
import { search } from './search.ts';
import type { HttpMethod, Interaction } from './types.ts';
import { update } from './update.ts';
import { vread } from './vread.ts';

/** R4 interaction codes (CapabilityStatement.rest.resource.interaction / rest.interaction). */
export type InteractionCode =
  | 'read'
  | 'vread'
  | 'update'
  | 'patch'
  | 'delete'
  | 'history-instance'
  | 'history-type'
  | 'create'
  | 'search-type'
  | 'transaction'
  | 'batch'
  | 'search-system'
  | 'history-system';

export interface FhirRoute {
  method: HttpMethod;
  /** Path below the FHIR base, Fastify syntax. `:type` is always a resource type. */
  path: string;
  /** Absent for routes that are not FHIR interactions (e.g. metadata). */
  interaction?: InteractionCode;
  handler: Interaction;
}

export const fhirRoutes: readonly FhirRoute[] = [
  { method: 'GET', path: '/metadata', handler: capabilities },
  { method: 'GET', path: '/_history', interaction: 'history-system', handler: history },
  // Each interaction code is listed once; its other forms (POST _search, conditional writes) carry none.
  { method: 'GET', path: '', interaction: 'search-system', handler: search },
  { method: 'POST', path: '/_search', handler: search },
  { method: 'GET', path: '/:type', interaction: 'search-type', handler: search },
  { method: 'POST', path: '/:type/_search', handler: search },
  // create, or conditional create with If-None-Exist.
  { method: 'POST', path: '/:type', interaction: 'create', handler: conditionalCreate },
  { method: 'PUT', path: '/:type', handler: conditionalUpdate },
  { method: 'PATCH', path: '/:type', handler: conditionalPatch },
  { method: 'DELETE', path: '/:type', handler: conditionalDelete },
  { method: 'GET', path: '/:type/_history', interaction: 'history-type', handler: history },
  { method: 'GET', path: '/:type/:id', interaction: 'read', handler: read },
  { method: 'PUT', path: '/:type/:id', interaction: 'update', handler: update },
  { method: 'PATCH', path: '/:type/:id', interaction: 'patch', handler: patch },
  { method: 'DELETE', path: '/:type/:id', interaction: 'delete', handler: remove },
  { method: 'GET', path: '/:type/:id/_history', interaction: 'history-instance', handler: history },
  { method: 'GET', path: '/:type/:id/_history/:vid', interaction: 'vread', handler: vread },
];

const systemCodes: ReadonlySet<InteractionCode> = new Set(['transaction', 'batch', 'search-system', 'history-system']);

export function implementedInteractions(): { system: InteractionCode[]; type: InteractionCode[] } {
  const codes = fhirRoutes.flatMap((r) => (r.interaction ? [r.interaction] : []));
  return { system: codes.filter((c) => systemCodes.has(c)), type: codes.filter((c) => !systemCodes.has(c)) };
}
