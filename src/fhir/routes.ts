/**
 * The one list of FHIR interactions the server implements. Routes,
 * the CapabilityStatement and the OpenAPI check are all derived from it, so
 * what the server says it does cannot drift from what it does.
 */
import { readAuditEvent, searchAuditEvents, verifyChainOperation } from '../audit/audit-interactions.ts';
import { bundleInteraction } from './bundle.ts';
import { capabilities } from './capabilities.ts';
import { conditionalCreate, conditionalDelete, conditionalPatch, conditionalUpdate } from './conditional.ts';
import { remove } from './delete.ts';
import { history } from './history.ts';
import { patch } from './patch.ts';
import { read } from './read.ts';
import type { Access } from '../auth/guard.ts';
import { search } from './search.ts';
import type { FhirRequest, HttpMethod, Interaction } from './types.ts';
import { update } from './update.ts';
import { everything } from './operations/everything.ts';
import { groupExport, patientExport, systemExport } from './operations/export.ts';
import { cancelExport, exportFile, exportStatus } from './operations/export-status.ts';
import { match } from './operations/match.ts';
import { cancelImportJob, importErrors, importKickOff, importStatus } from './operations/import.ts';
import { validateOperation } from './operations/validate.ts';
import { pharmacyQueueOperation } from './operations/pharmacy-queue.ts';
import { signOperation } from './operations/sign.ts';
import { verifyOperation } from './operations/verify-signature.ts';
import { resumenMedicoOperation, summaryOperation } from './operations/summary.ts';
import { vread } from './vread.ts';
import { byPost } from './operations/by-post.ts';
import { eventsOperation, statusOperation } from '../subscriptions/operations.ts';
import { evaluateMeasureOperation, guardBuiltInMeasure, measureCsvType, readMeasure, searchMeasures } from './operations/evaluate-measure.ts';

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
  /** Media types the route answers in besides FHIR JSON (checked by content negotiation). */
  formats?: readonly string[];
  /** What the route needs from the token, when not implied by the interaction (operations). */
  access?: (req: FhirRequest) => Access | undefined;
  handler: Interaction;
}

const baseRoutes: readonly FhirRoute[] = [
  { method: 'GET', path: '/metadata', handler: capabilities(() => implementedInteractions()) },
  // Transaction and batch; each entry is authorized on its own, so the bundle itself needs no scope.
  { method: 'POST', path: '', interaction: 'transaction', access: () => undefined, handler: bundleInteraction(() => fhirRoutes) },
  // The audit trail is served from its own table; static paths win over /:type.
  { method: 'GET', path: '/AuditEvent', resourceType: 'AuditEvent', interaction: 'search-type', handler: searchAuditEvents },
  { method: 'GET', path: '/AuditEvent/$verify-chain', resourceType: 'AuditEvent', interaction: 'operation', access: () => ({ permission: 's', resourceType: 'AuditEvent' }), handler: verifyChainOperation },
  { method: 'GET', path: '/AuditEvent/:id', resourceType: 'AuditEvent', interaction: 'read', handler: readAuditEvent },
  // Receta electrónica (src/receta): signing, verification and the pharmacy queue.
  { method: 'GET', path: '/MedicationRequest/$pharmacy-queue', resourceType: 'MedicationRequest', interaction: 'operation', access: () => ({ permission: 's', resourceType: 'MedicationRequest' }), handler: pharmacyQueueOperation },
  { method: 'POST', path: '/MedicationRequest/:id/$sign', resourceType: 'MedicationRequest', interaction: 'operation', access: () => ({ permission: 'u', resourceType: 'MedicationRequest' }), handler: signOperation },
  { method: 'GET', path: '/MedicationRequest/:id/$verify', resourceType: 'MedicationRequest', interaction: 'operation', access: () => ({ permission: 'r', resourceType: 'MedicationRequest' }), handler: verifyOperation },
  { method: 'POST', path: '/MedicationRequest/:id/$verify', resourceType: 'MedicationRequest', interaction: 'operation', access: () => ({ permission: 'r', resourceType: 'MedicationRequest' }), handler: verifyOperation },
  // Productivity statistics (src/measures): the built-in Measures, read-only; $evaluate-measure authorizes by measure (auditor/admin, the measure's type).
  { method: 'GET', path: '/Measure', resourceType: 'Measure', interaction: 'search-type', handler: searchMeasures },
  { method: 'GET', path: '/Measure/$evaluate-measure', resourceType: 'Measure', interaction: 'operation', formats: [measureCsvType], access: () => undefined, handler: evaluateMeasureOperation },
  { method: 'GET', path: '/Measure/:id/$evaluate-measure', resourceType: 'Measure', interaction: 'operation', formats: [measureCsvType], access: () => undefined, handler: evaluateMeasureOperation },
  { method: 'GET', path: '/Measure/:id', resourceType: 'Measure', interaction: 'read', handler: readMeasure },
  // Writes of a built-in Measure answer 405; other Measures are ordinary resources.
  { method: 'POST', path: '/Measure', resourceType: 'Measure', interaction: 'create', handler: guardBuiltInMeasure(conditionalCreate) },
  { method: 'PUT', path: '/Measure/:id', resourceType: 'Measure', interaction: 'update', handler: guardBuiltInMeasure(update) },
  { method: 'PATCH', path: '/Measure/:id', resourceType: 'Measure', interaction: 'patch', handler: guardBuiltInMeasure(patch) },
  { method: 'DELETE', path: '/Measure/:id', resourceType: 'Measure', interaction: 'delete', handler: guardBuiltInMeasure(remove) },
  { method: 'GET', path: '/_history', interaction: 'history-system', handler: history },
  // Bulk Data export: the kick-offs work out from the token what it may export; status, files and cancel belong to whoever started the job.
  { method: 'GET', path: '/$export', interaction: 'operation', access: () => undefined, handler: systemExport },
  { method: 'GET', path: '/Patient/$export', resourceType: 'Patient', interaction: 'operation', access: () => undefined, handler: patientExport },
  { method: 'GET', path: '/Group/:id/$export', resourceType: 'Group', interaction: 'operation', access: () => undefined, handler: groupExport },
  { method: 'POST', path: '/$export', interaction: 'operation', access: () => undefined, handler: systemExport },
  { method: 'POST', path: '/Patient/$export', resourceType: 'Patient', interaction: 'operation', access: () => undefined, handler: patientExport },
  { method: 'POST', path: '/Group/:id/$export', resourceType: 'Group', interaction: 'operation', access: () => undefined, handler: groupExport },
  { method: 'GET', path: '/$export-status/:id', interaction: 'operation', access: () => undefined, handler: exportStatus },
  { method: 'DELETE', path: '/$export-status/:id', interaction: 'operation', access: () => undefined, handler: cancelExport },
  { method: 'GET', path: '/$export-file/:id', interaction: 'operation', access: () => undefined, handler: exportFile },
  // Bulk import: admin/institution tokens with system write scopes (checked by the kick-off); each line is authorised for its type.
  { method: 'POST', path: '/$import', interaction: 'operation', access: () => undefined, handler: importKickOff },
  { method: 'GET', path: '/$import-status/:id', interaction: 'operation', access: () => undefined, handler: importStatus },
  { method: 'DELETE', path: '/$import-status/:id', interaction: 'operation', access: () => undefined, handler: cancelImportJob },
  { method: 'GET', path: '/$import-errors/:id', interaction: 'operation', access: () => undefined, handler: importErrors },
  { method: 'POST', path: '/Patient/$match', resourceType: 'Patient', interaction: 'operation', access: () => ({ permission: 's', resourceType: 'Patient' }), handler: match },
  // Every route but metadata names its interaction (or operation): that is what authorization and audit go by.
  { method: 'GET', path: '', interaction: 'search-system', handler: search },
  { method: 'POST', path: '/_search', interaction: 'search-system', handler: search },
  { method: 'GET', path: '/:type', interaction: 'search-type', handler: search },
  { method: 'POST', path: '/:type/_search', interaction: 'search-type', handler: search },
  // create, or conditional create with If-None-Exist.
  { method: 'POST', path: '/:type', interaction: 'create', handler: conditionalCreate },
  { method: 'PUT', path: '/:type', interaction: 'update', handler: conditionalUpdate },
  { method: 'PATCH', path: '/:type', interaction: 'patch', handler: conditionalPatch },
  { method: 'DELETE', path: '/:type', interaction: 'delete', handler: conditionalDelete },
  // Subscriptions (src/subscriptions): state, delivery attempts and replay, for the subscription's owner.
  { method: 'GET', path: '/Subscription/:id/$status', resourceType: 'Subscription', interaction: 'operation', access: () => ({ permission: 'r', resourceType: 'Subscription' }), handler: statusOperation },
  { method: 'GET', path: '/Subscription/:id/$events', resourceType: 'Subscription', interaction: 'operation', access: () => ({ permission: 'r', resourceType: 'Subscription' }), handler: eventsOperation },
  { method: 'GET', path: '/Patient/:id/$everything', resourceType: 'Patient', interaction: 'operation', access: () => ({ permission: 'r', resourceType: 'Patient' }), handler: everything },
  // Patient summaries authorize each resource themselves (like bundle entries): see operations/summary.ts.
  { method: 'GET', path: '/Patient/$summary', resourceType: 'Patient', interaction: 'operation', access: () => undefined, handler: summaryOperation },
  { method: 'GET', path: '/Patient/:id/$summary', resourceType: 'Patient', interaction: 'operation', access: () => undefined, handler: summaryOperation },
  { method: 'GET', path: '/Patient/$resumen-medico', resourceType: 'Patient', interaction: 'operation', access: () => undefined, handler: resumenMedicoOperation },
  { method: 'GET', path: '/Patient/:id/$resumen-medico', resourceType: 'Patient', interaction: 'operation', access: () => undefined, handler: resumenMedicoOperation },
  { method: 'POST', path: '/:type/$validate', interaction: 'operation', access: (req) => ({ permission: 'r', resourceType: req.resourceType }), handler: validateOperation },
  { method: 'POST', path: '/:type/:id/$validate', interaction: 'operation', access: (req) => ({ permission: 'r', resourceType: req.resourceType }), handler: validateOperation },
  { method: 'GET', path: '/:type/_history', interaction: 'history-type', handler: history },
  { method: 'GET', path: '/:type/:id', interaction: 'read', handler: read },
  { method: 'PUT', path: '/:type/:id', interaction: 'update', handler: update },
  { method: 'PATCH', path: '/:type/:id', interaction: 'patch', handler: patch },
  { method: 'DELETE', path: '/:type/:id', interaction: 'delete', handler: remove },
  { method: 'GET', path: '/:type/:id/_history', interaction: 'history-instance', handler: history },
  { method: 'GET', path: '/:type/:id/_history/:vid', interaction: 'vread', handler: vread },
];

/** Status and file URLs of bulk export are not operations, though their paths start with $. */
const notOperations = new Set(['/$export-status/:id', '/$export-file/:id', '/$import-status/:id', '/$import-errors/:id']);

/** Each operation served by GET, also by POST (by-post.ts), unless a POST form is already there. */
const postOperations: FhirRoute[] = baseRoutes
  .filter((r) => r.method === 'GET' && r.interaction === 'operation' && !notOperations.has(r.path))
  .filter((r) => !baseRoutes.some((o) => o.method === 'POST' && o.path === r.path))
  .map((r) => ({ ...r, method: 'POST', handler: byPost(r.handler) }));

export const fhirRoutes: readonly FhirRoute[] = [...baseRoutes, ...postOperations];

const systemCodes: ReadonlySet<InteractionCode> = new Set(['transaction', 'batch', 'search-system', 'history-system']);

export interface ImplementedInteractions {
  system: InteractionCode[];
  type: InteractionCode[];
  fixed: Map<string, InteractionCode[]>;
}

export function implementedInteractions(): ImplementedInteractions {
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
  // An interaction may have several forms (POST _search, conditional writes): list it once.
  const unique = [...new Set(codes)];
  return { system: unique.filter((c) => systemCodes.has(c)), type: unique.filter((c) => !systemCodes.has(c)), fixed };
}
