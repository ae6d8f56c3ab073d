/**
 * Bulk Data kick-off, FHIR Bulk Data Access IG v2
 * (https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-kick-off-request):
 * `GET /$export` (system), `GET /Patient/$export` (every patient compartment)
 * and `GET /Group/{id}/$export` (the members' compartments), with
 * `Prefer: respond-async`, `_type`, `_since` and `_outputFormat`. Answers 202
 * with `Content-Location` naming the status URL; the job runs in the
 * background (src/export/export-service.ts). What the job exports is fixed
 * here from the token: only readable types, and a `patient/` token only its
 * own compartment.
 */
import { randomUUID } from 'node:crypto';
import type { Group, OperationDefinition } from '@medplum/fhirtypes';
import type { Actor } from '../../auth/actor.ts';
import { authorizeTraversal, canSee, forbidden } from '../../auth/guard.ts';
import { rowAccessFor } from '../../auth/readable.ts';
import { parseAssociated } from '../../export/associated-data.ts';
import { parseElements } from '../../export/export-elements.ts';
import type { ExportLevel, ExportNote, ExportPlan } from '../../export/export-plan.ts';
import { planTypes, readable } from '../../export/export-plan.ts';
import { parseTypeFilters } from '../../export/type-filter.ts';
import { exportOwner } from '../../export/export-owner.ts';
import { patientCompartmentTypes, patientIdOf } from '../compartment.ts';
import { isResourceType, resourceTypes } from '../definitions.ts';
import { badRequest, FhirError, issue, outcome, type Message } from '../errors.ts';
import { parseInstantParam, single, values } from '../params.ts';
import { parsePrefer } from '../prefer.ts';
import { readExisting } from '../read.ts';
import type { FhirContext, FhirRequest, FhirResult } from '../types.ts';

function definition(id: string, resource: OperationDefinition['resource'], system: boolean, type: boolean, instance: boolean): OperationDefinition {
  return { resourceType: 'OperationDefinition', id, url: `http://hl7.org/fhir/uv/bulkdata/OperationDefinition/${id}`, name: id, status: 'active', kind: 'operation', code: 'export', ...(resource ? { resource } : {}), system, type, instance };
}
export const exportOperationDefinition = definition('export', undefined, true, false, false);
export const patientExportOperationDefinition = definition('patient-export', ['Patient'], false, true, false);
export const groupExportOperationDefinition = definition('group-export', ['Group'], false, false, true);

const ndjsonFormats = new Set(['application/fhir+ndjson', 'application/ndjson', 'ndjson']);
/** IG parameters this server does not implement: refused unless Prefer: handling=lenient. */
const unsupported = ['_until', 'organizeOutputBy', 'allowPartialManifests'];

function requestedTypes(req: FhirRequest): string[] | undefined {
  const raw = req.query._type;
  if (raw === undefined) return undefined;
  const list = (Array.isArray(raw) ? raw : [raw]).flatMap((v) => v.split(',')).map((t) => t.trim()).filter(Boolean);
  const unknown = list.find((t) => !isResourceType(t));
  if (unknown) throw badRequest({ es: `_type: tipo de recurso desconocido "${unknown}"`, en: `_type: unknown resource type "${unknown}"` }, '_type');
  return list.length > 0 ? list : undefined;
}

/** Checks the kick-off; returns the unsupported parameters ignored under handling=lenient, and whether it is lenient. */
function checkParameters(req: FhirRequest): { ignored: string[]; lenient: boolean } {
  const accept = req.headers.accept?.trim();
  // The IG: the kick-off's own answer (an OperationOutcome) is application/fhir+json only; */* is what generic clients send.
  if (accept && !accept.split(',').some((a) => ['application/fhir+json', '*/*'].includes(a.split(';')[0]?.trim().toLowerCase() ?? ''))) {
    throw badRequest({ es: `Accept no admitido en $export "${accept}": use application/fhir+json`, en: `Accept "${accept}" not supported by $export: use application/fhir+json` }, 'Accept');
  }
  const prefer = parsePrefer(req.headers.prefer);
  if (!prefer.respondAsync) {
    throw badRequest({ es: '$export es asíncrono: envíe el encabezado Prefer: respond-async', en: '$export is asynchronous: send the header Prefer: respond-async' }, 'Prefer');
  }
  const format = single(req.query, '_outputFormat');
  if (format !== undefined && !ndjsonFormats.has(format)) {
    throw badRequest({ es: `_outputFormat no admitido "${format}": solo application/fhir+ndjson`, en: `Unsupported _outputFormat "${format}": only application/fhir+ndjson` }, '_outputFormat');
  }
  const lenient = prefer.handling === 'lenient';
  const present = unsupported.filter((p) => req.query[p] !== undefined);
  if (present.length > 0 && !lenient) {
    throw new FhirError(400, present.map((p) => issue('not-supported', { es: `Parámetro no admitido en $export: ${p} (use Prefer: handling=lenient para ignorarlo)`, en: `Parameter not supported by $export: ${p} (use Prefer: handling=lenient to ignore it)` }, p)));
  }
  return { ignored: present, lenient };
}

type Rejected = { entry: string; message: Message }[];

/**
 * `_typeFilter`, `_elements` and `includeAssociatedData` (IG v2): parsed and
 * checked against the types the export holds. What cannot be honoured is a
 * 400 (not-supported) unless Prefer: handling=lenient, where it is left out
 * and reported in the manifest's error file (`notes`).
 */
function refinements(req: FhirRequest, ctx: FhirContext, level: ExportLevel, types: readonly string[], lenient: boolean): Pick<ExportPlan, 'typeFilter' | 'elements' | 'associated' | 'access' | 'notes'> {
  const notes: ExportNote[] = [];
  const refuse = (rejected: Rejected, expression: string): void => {
    if (rejected.length === 0) return;
    if (!lenient) throw new FhirError(400, rejected.map((r) => issue('not-supported', { es: `${r.message.es} (use Prefer: handling=lenient para omitirlo)`, en: `${r.message.en} (use Prefer: handling=lenient to leave it out)` }, expression)));
    notes.push(...rejected.map((r) => ({ expression, ...r.message })));
  };
  const out: Pick<ExportPlan, 'typeFilter' | 'elements' | 'associated' | 'access' | 'notes'> = {};
  const filters = parseTypeFilters(values(req.query, '_typeFilter'));
  for (const f of filters) {
    if (ctx.actor && !readable(ctx.actor, f.type)) throw forbidden({ es: `El token no permite leer ${f.type} (_typeFilter)`, en: `The token may not read ${f.type} (_typeFilter)` }, '_typeFilter');
    if (!types.includes(f.type)) throw badRequest({ es: `_typeFilter: ${f.type} no es un tipo de esta exportación (vea _type)`, en: `_typeFilter: ${f.type} is not a type of this export (see _type)` }, '_typeFilter');
    // Chains and _has pass only through types the token may search (403 otherwise), as in a search.
    authorizeTraversal(ctx.actor, f.request.filters);
    // Left out under lenient, a parameter widens the query: the export holds more, never less, than asked.
    refuse(f.request.ignored.map((i) => ({ entry: i.name, message: { es: `_typeFilter ${f.type}?${f.search}: ${i.reason.es}`, en: `_typeFilter ${f.type}?${f.search}: ${i.reason.en}` } })), '_typeFilter');
  }
  if (filters.length > 0) out.typeFilter = { queries: filters.map(({ type, search }) => ({ type, search })), baseUrl: ctx.baseUrl, now: ctx.now().toISOString() };
  const elements = values(req.query, '_elements');
  if (elements.length > 0) {
    const parsed = parseElements(elements, types);
    refuse(parsed.rejected, '_elements');
    if (parsed.elements.length > 0) out.elements = parsed.elements;
  }
  const associated = parseAssociated(values(req.query, 'includeAssociatedData'));
  refuse(associated.rejected, 'includeAssociatedData');
  if (associated.associated) {
    if (ctx.actor && !readable(ctx.actor, 'Provenance')) throw forbidden({ es: 'El token no permite leer Provenance (includeAssociatedData)', en: 'The token may not read Provenance (includeAssociatedData)' }, 'includeAssociatedData');
    out.associated = associated.associated;
  } else if (level !== 'system' && types.includes('Provenance')) {
    // The IG: without a provenance value, a Patient or Group export holds every Provenance whose target it exports,
    // not only those in a patient compartment (a Provenance is there only when it targets the Patient itself).
    out.associated = 'relevant';
  }
  const access = rowAccessFor(ctx.actor);
  if (access && (out.typeFilter || out.associated)) out.access = access;
  if (notes.length > 0) out.notes = notes;
  return out;
}

/** Without authentication (benchmarks of the bare server only) an export sees every type asked for. */
function typesFor(actor: Actor | undefined, requested: string[] | undefined, candidates: readonly string[]): Pick<ExportPlan, 'unrestricted' | 'patientScoped' | 'patient'> {
  return actor ? planTypes(actor, requested, candidates) : { unrestricted: requested ?? [...candidates], patientScoped: [] };
}

/** `patient` (IG v2): the patients whose compartments to export, at Patient or Group level (within the Group's members). */
function requestedPatients(req: FhirRequest, level: ExportLevel): string[] | undefined {
  const raw = req.query.patient;
  if (raw === undefined) return undefined;
  if (level === 'system') throw badRequest({ es: 'patient solo se admite en Patient/$export y Group/[id]/$export', en: 'patient is only supported by Patient/$export and Group/[id]/$export' }, 'patient');
  const ids = (Array.isArray(raw) ? raw : [raw]).flatMap((v) => v.split(',')).map((v) => v.trim());
  const bad = ids.find((r) => !patientIdOf(r));
  if (bad !== undefined) throw badRequest({ es: `patient debe ser una referencia Patient/[id], no "${bad}"`, en: `patient must be a Patient/[id] reference, not "${bad}"` }, 'patient');
  return [...new Set(ids.map((r) => patientIdOf(r) ?? ''))];
}

async function groupMembers(req: FhirRequest, ctx: FhirContext): Promise<string[]> {
  const stored = await readExisting({ ...req, resourceType: 'Group' }, ctx);
  const group = JSON.parse(stored.content ?? '{}') as Group;
  if (ctx.actor && !canSee(ctx.actor, group, stored.patients)) {
    throw forbidden({ es: `El token no permite leer Group/${req.id ?? ''}`, en: `The token may not read Group/${req.id ?? ''}` });
  }
  const ids = (group.member ?? []).filter((m) => m.inactive !== true).flatMap((m) => {
    const id = patientIdOf(m.entity?.reference);
    return id ? [id] : [];
  });
  return [...new Set(ids)];
}

function kickOffUrl(req: FhirRequest, ctx: FhirContext, path: string): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(req.query)) {
    for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) params.append(key, v);
  }
  const qs = params.toString();
  return `${ctx.baseUrl}/${path}${qs ? `?${qs}` : ''}`;
}

async function kickOff(level: ExportLevel, req: FhirRequest, ctx: FhirContext): Promise<FhirResult> {
  const service = ctx.exports;
  if (!service) {
    throw new FhirError(501, [issue('not-supported', { es: 'Este servidor no tiene exportación masiva configurada', en: 'Bulk export is not configured on this server' })]);
  }
  const { ignored, lenient } = checkParameters(req);
  const since = parseInstantParam(req.query, '_since');
  if (since && since.getTime() > ctx.now().getTime()) {
    throw badRequest({ es: `_since está en el futuro (${since.toISOString()})`, en: `_since is in the future (${since.toISOString()})` }, '_since');
  }
  const requested = requestedTypes(req);
  const group = level === 'group' ? await groupMembers(req, ctx) : undefined;
  const patients = requestedPatients(req, level);
  const members = patients && group ? patients.filter((p) => group.includes(p)) : (patients ?? group);
  const candidates = level === 'system' ? resourceTypes() : patientCompartmentTypes();
  const types = typesFor(ctx.actor, requested, candidates);
  const refined = refinements(req, ctx, level, [...types.unrestricted, ...types.patientScoped], lenient);
  const plan: ExportPlan = { level, ...types, ...(members ? { members } : {}), ...(since ? { since: since.toISOString() } : {}), ...(ignored.length > 0 ? { ignored } : {}), ...refined };
  for (const id of [...(members ?? []), ...(plan.patient ? [plan.patient] : [])]) ctx.audit?.patients.add(id);
  const id = randomUUID();
  const path = level === 'system' ? '$export' : level === 'patient' ? 'Patient/$export' : `Group/${req.id ?? ''}/$export`;
  await service.kickOff({ id, level, groupId: req.id, types: requested, since, request: kickOffUrl(req, ctx, path), owner: ctx.actor ? exportOwner(ctx.actor) : 'anonymous', plan });
  const accepted = outcome([issue('informational', { es: `Exportación ${id} aceptada; consulte su estado en Content-Location`, en: `Export ${id} accepted; poll its status at Content-Location` }, undefined, 'information')]);
  return { status: 202, headers: { 'content-location': `${ctx.baseUrl}/$export-status/${id}` }, body: accepted };
}

/** A POST kick-off: its parameters come in a Parameters body (IG v2), never in the URL. */
function withBodyParameters(req: FhirRequest): FhirRequest {
  const body = req.body as { resourceType?: string; parameter?: Record<string, unknown>[] } | undefined;
  if (body === undefined) return { ...req, query: {} };
  if (body.resourceType !== 'Parameters') {
    throw badRequest({ es: 'El cuerpo de $export por POST debe ser un recurso Parameters', en: 'The body of a POST $export must be a Parameters resource' }, 'Parameters');
  }
  const query: Record<string, string[]> = {};
  for (const [i, p] of (body.parameter ?? []).entries()) {
    const name = typeof p.name === 'string' ? p.name : '';
    const valueKey = Object.keys(p).find((k) => k.startsWith('value'));
    const raw = valueKey ? p[valueKey] : undefined;
    const value = typeof raw === 'string' ? raw : typeof raw === 'boolean' ? String(raw) : valueKey === 'valueReference' ? (raw as { reference?: unknown }).reference : undefined;
    if (!name || typeof value !== 'string') {
      throw badRequest({ es: `Parameters.parameter[${i}] debe tener name y un valor de texto, fecha, código o referencia`, en: `Parameters.parameter[${i}] needs a name and a string, instant, code or reference value` }, `Parameters.parameter[${i}]`);
    }
    (query[name] ??= []).push(value);
  }
  return { ...req, query };
}

const kickOffBy = (level: ExportLevel) => (req: FhirRequest, ctx: FhirContext): Promise<FhirResult> => kickOff(level, req.method === 'POST' ? withBodyParameters(req) : req, ctx);
export const systemExport = kickOffBy('system');
export const patientExport = kickOffBy('patient');
export const groupExport = kickOffBy('group');
