/**
 * The one list of FHIR interactions the server implements. Routes,
 * the CapabilityStatement and the OpenAPI check are all derived from it, so
 * what the server says it does cannot drift from what it does.
 */
import { readAuditEvent, searchAuditEvents, verifyChainOperation } from '../audit/audit-interactions.ts';
import { bundleInteraction } from './bundle.ts';
import { capabilities } from './capabilities.ts';
import { create } from './create.ts';
import { remove } from './delete.ts';
import { history } from './history.ts';
import { patch } from './patch.ts';
import { read } from './read.ts';
import type { Access } from '../auth/guard.ts';
import type { FhirRequest, HttpMethod, Interaction } from './types.ts';
import { update } from './update.ts';
import { validateOperation } from './operations/validate.ts';
import { resumenMedicoOperation, summaryOperation } from './operations/summary.ts';
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
  interaction?: InteractionCode | 'operation';
  /** For routes on one resource type (no `:type` in the path). */
  resourceType?: string;
  /** What the route needs from the token, when not implied by the interaction (operations). */
  access?: (req: FhirRequest) => Access | undefined;
  handler: Interaction;
}

export const fhirRoutes: readonly FhirRoute[] = [
  { method: 'GET', path: '/metadata', handler: capabilities },
  // Transaction and batch; each entry is authorized on its own, so the bundle itself needs no scope.
  { method: 'POST', path: '', interaction: 'transaction', access: () => undefined, handler: bundleInteraction(() => fhirRoutes) },
  // The audit trail is served from its own table; static paths win over /:type.
  { method: 'GET', path: '/AuditEvent', resourceType: 'AuditEvent', interaction: 'search-type', handler: searchAuditEvents },
  { method: 'GET', path: '/AuditEvent/$verify-chain', resourceType: 'AuditEvent', interaction: 'operation', access: () => ({ permission: 's', resourceType: 'AuditEvent' }), handler: verifyChainOperation },
  { method: 'GET', path: '/AuditEvent/:id', resourceType: 'AuditEvent', interaction: 'read', handler: readAuditEvent },
  { method: 'GET', path: '/_history', interaction: 'history-system', handler: history },
  // Patient summaries authorize each resource themselves (like bundle entries): see operations/summary.ts.
  { method: 'GET', path: '/Patient/$summary', resourceType: 'Patient', interaction: 'operation', access: () => undefined, handler: summaryOperation },
  { method: 'GET', path: '/Patient/:id/$summary', resourceType: 'Patient', interaction: 'operation', access: () => undefined, handler: summaryOperation },
  { method: 'GET', path: '/Patient/$resumen-medico', resourceType: 'Patient', interaction: 'operation', access: () => undefined, handler: resumenMedicoOperation },
  { method: 'GET', path: '/Patient/:id/$resumen-medico', resourceType: 'Patient', interaction: 'operation', access: () => undefined, handler: resumenMedicoOperation },
  { method: 'POST', path: '/:type', interaction: 'create', handler: create },
  { method: 'POST', path: '/:type/$validate', handler: validateOperation },
  { method: 'POST', path: '/:type/:id/$validate', handler: validateOperation },
  { method: 'GET', path: '/:type/_history', interaction: 'history-type', handler: history },
  { method: 'GET', path: '/:type/:id', interaction: 'read', handler: read },
  { method: 'PUT', path: '/:type/:id', interaction: 'update', handler: update },
  { method: 'PATCH', path: '/:type/:id', interaction: 'patch', handler: patch },
  { method: 'DELETE', path: '/:type/:id', interaction: 'delete', handler: remove },
  { method: 'GET', path: '/:type/:id/_history', interaction: 'history-instance', handler: history },
  { method: 'GET', path: '/:type/:id/_history/:vid', interaction: 'vread', handler: vread },
];

const systemCodes: ReadonlySet<InteractionCode> = new Set(['transaction', 'batch', 'search-system', 'history-system']);

export function implementedInteractions(): { system: InteractionCode[]; type: InteractionCode[]; fixed: Map<string, InteractionCode[]> } {
  const codes: InteractionCode[] = [];
  // Routes of one fixed type (the audit trail) replace the generic interactions for that type.
  const fixed = new Map<string, InteractionCode[]>();
  for (const r of fhirRoutes) {
    if (!r.interaction || r.interaction === 'operation') continue;
    if (r.resourceType) fixed.set(r.resourceType, [...(fixed.get(r.resourceType) ?? []), r.interaction]);
    else codes.push(r.interaction);
  }
  // One route (POST to the base) serves both bundle types.
  if (codes.includes('transaction')) codes.push('batch');
  return { system: codes.filter((c) => systemCodes.has(c)), type: codes.filter((c) => !systemCodes.has(c)), fixed };
}
