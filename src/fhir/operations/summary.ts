/**
 * Patient summaries: `Patient/{id}/$summary` (International Patient Summary
 * document, https://hl7.org/fhir/uv/ips/OperationDefinition-summary.html) and
 * `Patient/{id}/$resumen-medico` (the ECU record screen as Parameters). Both
 * also at type level with `identifier=system|value`. Each resource is
 * authorized on its own (like bundle entries): the token must read Patient,
 * and what its scopes or patient compartment do not allow is left out and
 * reported as withheld, never silently dropped. Audited with the patient.
 */
import type { OperationDefinition, Resource } from '@medplum/fhirtypes';
import { authorize, canSee } from '../../auth/guard.ts';
import { allows, onlyPatientScoped } from '../../auth/scopes.ts';
import { todayInMexico } from '../../summary/age.ts';
import { buildIpsDocument } from '../../summary/ips-document.ts';
import { findPatientByIdentifier, loadPatientRecord, restrictRecord, summaryTypes, type LoadedResource } from '../../summary/load-record.ts';
import { buildResumenMedico, type SummaryInput } from '../../summary/resumen-medico.ts';
import { badRequest, notFound } from '../errors.ts';
import type { FhirContext, FhirRequest, FhirResult } from '../types.ts';

const identifierParameter = { name: 'identifier', use: 'in', min: 0, max: '1', type: 'string', documentation: 'system|value del paciente (p. ej. la CURP) en lugar de {id} / the patient\'s system|value (e.g. CURP) instead of {id}' } as const;

export const summaryOperationDefinition: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'Patient-summary',
  url: 'http://hl7.org/fhir/uv/ips/OperationDefinition/summary',
  name: 'summary',
  status: 'active',
  kind: 'operation',
  code: 'summary',
  resource: ['Patient'],
  system: false,
  type: true,
  instance: true,
  affectsState: false,
  parameter: [{ ...identifierParameter }, { name: 'return', use: 'out', min: 1, max: '1', type: 'Bundle' }],
};

export const resumenMedicoOperationDefinition: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'Patient-resumen-medico',
  url: 'https://ecu-fhir.org/fhir/OperationDefinition/Patient-resumen-medico',
  name: 'resumenMedico',
  title: 'Resumen médico del expediente (pantalla ECU)',
  status: 'active',
  kind: 'operation',
  code: 'resumen-medico',
  resource: ['Patient'],
  system: false,
  type: true,
  instance: true,
  affectsState: false,
  parameter: [
    { ...identifierParameter },
    { name: 'date', use: 'in', min: 0, max: '1', type: 'date', documentation: 'Día para calcular la edad (por omisión hoy, hora de la Ciudad de México) / Day the age is computed on (default today, Mexico City time)' },
    { name: 'return', use: 'out', min: 1, max: '1', type: 'Parameters' },
  ],
};

function single(req: FhirRequest, name: string): string | undefined {
  const v = req.query[name];
  if (Array.isArray(v)) {
    throw badRequest({ es: `El parámetro ${name} se admite una sola vez`, en: `Parameter ${name} is allowed once` }, name);
  }
  return v;
}

function requestedDay(req: FhirRequest, ctx: FhirContext): string {
  const date = single(req, 'date');
  if (date === undefined) return todayInMexico(ctx.now());
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(date))) {
    throw badRequest({ es: `date debe ser AAAA-MM-DD, no "${date}"`, en: `date must be YYYY-MM-DD, not "${date}"` }, 'date');
  }
  return date;
}

/** Directory resources a screen may name (unit, practitioner) even for a token limited to one patient. */
const directoryTypes: ReadonlySet<string> = new Set(['Organization', 'Location', 'Practitioner', 'PractitionerRole', 'Medication']);

async function summaryInput(req: FhirRequest, ctx: FhirContext, operation: string, directoryVisible: boolean): Promise<SummaryInput> {
  const actor = ctx.actor;
  if (ctx.audit) ctx.audit.operation = operation;
  if (actor) authorize(actor, { permission: 'r', resourceType: 'Patient' });
  // A patient token reaches its own patient only; any other is answered as if it did not exist (no 403 to tell them apart).
  const only = actor && onlyPatientScoped(actor.scopes, 'Patient', 'r') ? (actor.patient ?? '') : undefined;
  let patientId = req.id;
  if (patientId !== undefined && only !== undefined && patientId !== only) {
    // The trail still names whose record was asked for.
    ctx.audit?.patients.add(patientId);
    throw notFound({ es: `No existe Patient/${patientId}`, en: `Patient/${patientId} not found` }, 'Patient.id');
  }
  if (patientId === undefined) {
    const identifier = single(req, 'identifier');
    if (!identifier) {
      throw badRequest({ es: `${operation} necesita Patient/{id} o identifier=sistema|valor`, en: `${operation} needs Patient/{id} or identifier=system|value` }, 'identifier', 'required');
    }
    patientId = await findPatientByIdentifier(ctx.db, identifier, only);
  }
  if (ctx.audit) {
    ctx.audit.resourceId = patientId;
    ctx.audit.patients.add(patientId);
  }
  const on = operation === '$resumen-medico' ? requestedDay(req, ctx) : todayInMexico(ctx.now());
  const full = await loadPatientRecord(ctx.db, patientId);
  if (!actor) {
    return { record: full, on, masked: new Set() };
  }
  const visible = (r: LoadedResource) => (directoryVisible && directoryTypes.has(r.resource.resourceType)) || canSee(actor, r.resource as Resource, r.patients);
  const masked = new Set(summaryTypes.filter((t) => !allows(actor.scopes, t, 'r') && !allows(actor.scopes, t, 's')));
  return { record: restrictRecord(full, visible), on, masked };
}

export async function summaryOperation(req: FhirRequest, ctx: FhirContext): Promise<FhirResult> {
  const input = await summaryInput(req, ctx, '$summary', false);
  return { status: 200, body: buildIpsDocument(input, { baseUrl: ctx.baseUrl, now: ctx.now() }) };
}

export async function resumenMedicoOperation(req: FhirRequest, ctx: FhirContext): Promise<FhirResult> {
  const input = await summaryInput(req, ctx, '$resumen-medico', true);
  return { status: 200, body: buildResumenMedico(input) };
}
