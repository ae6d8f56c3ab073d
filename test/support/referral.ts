/**
 * A small referral network for tests: the UMF Pichucalco (first level, refers)
 * and the CMN 20 de Noviembre (third level, receives cardiology by
 * telemedicine), affiliated; a third unit outside the network; clinicians
 * with cédula at both ends, a patient, the CMN's cardiology HealthcareService
 * with its Schedule and Slots. CLUES are fresh per world, so worlds of
 * different tests never see each other's work.
 */
import type { Bundle, Composition, Consent, Patient, Resource, ServiceRequest, Task } from '@medplum/fhirtypes';
import type { LightMyRequestResponse } from 'fastify';
import { cedulaProfesionalSystem, cie10System, cluesSystem, curpSystem } from '../../src/mx/systems.ts';
import { actCodeSystem, consentCategorySystem, folioSystemPrefix, modalityExtension } from '../../src/referral/systems.ts';
import { mxFixture } from '../fixtures/mx/index.ts';
import { fhirJson, uniqueTag, type TestApp } from './app.ts';
import { freshCurp } from './receta.ts';
import { roleToken } from './tokens.ts';

export const cardiology = { system: 'http://snomed.info/sct', code: '394579002', display: 'Cardiología' };
export const dermatology = { system: 'http://snomed.info/sct', code: '394582007', display: 'Dermatología' };
const level = (code: string) => ({ url: 'https://ecu-fhir.org/fhir/StructureDefinition/mx-nivel-atencion', valueCoding: { system: 'https://ecu-fhir.org/fhir/CodeSystem/nivel-atencion', code } });

export interface Unit {
  id: string;
  clues: string;
  /** A clinician of the unit: role clinician, its CLUES, fhirUser its Practitioner. */
  doctor: string;
  practitionerId: string;
  roleId: string;
}

export interface ReferralWorld {
  tag: string;
  umf: Unit;
  cmn: Unit;
  /** A unit with no affiliation to the CMN. */
  outside: Unit;
  patientId: string;
  patientToken: string;
  serviceId: string;
  slotIds: string[];
  admin: string;
}

let counter = 0;
function freshClues(state: string): string {
  counter = (counter + 1) % 1000;
  return `${state}IST${String((Date.now() % 1000) * 1000 + counter).padStart(6, '0').slice(-6)}`;
}

export async function put(t: TestApp, r: Resource, token?: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return t.request({ method: 'PUT', url: `/fhir/${r.resourceType}/${r.id ?? ''}`, headers: { ...fhirJson, ...headers }, payload: r, token });
}

async function must(res: Promise<LightMyRequestResponse>, what: string): Promise<LightMyRequestResponse> {
  const r = await res;
  if (r.statusCode >= 300) throw new Error(`${what}: ${r.statusCode} ${r.body}`);
  return r;
}

async function unit(t: TestApp, tag: string, key: string, name: string, state: string, levelCode: string): Promise<Unit> {
  const clues = freshClues(state);
  const id = `${key}-${tag}`;
  const practitionerId = `dr-${key}-${tag}`;
  const roleId = `rol-${key}-${tag}`;
  await must(put(t, { resourceType: 'Organization', id, extension: [level(levelCode)], identifier: [{ system: cluesSystem, value: clues }], active: true, name }), name);
  await must(put(t, { resourceType: 'Practitioner', id: practitionerId, identifier: [{ system: cedulaProfesionalSystem, value: '12345678' }], name: [{ family: `Médico ${key}`, given: ['Ana'] }] }), 'practitioner');
  await must(put(t, { resourceType: 'PractitionerRole', id: roleId, practitioner: { reference: `Practitioner/${practitionerId}` }, organization: { reference: `Organization/${id}` } }), 'role');
  return { id, clues, practitionerId, roleId, doctor: await roleToken('clinician', { clues, fhirUser: `Practitioner/${practitionerId}` }, `dr-${key}-${tag}`) };
}

export async function referralWorld(t: TestApp, slots = 3): Promise<ReferralWorld> {
  const tag = uniqueTag();
  const umf = await unit(t, tag, 'umf-pichucalco', 'Unidad de Medicina Familiar Pichucalco (ISSSTE)', 'CS', '1');
  const cmn = await unit(t, tag, 'cmn-20-noviembre', 'Centro Médico Nacional 20 de Noviembre (ISSSTE)', 'DF', '3');
  const outside = await unit(t, tag, 'cmf-fuera', 'Clínica de Medicina Familiar fuera de la red (ISSSTE)', 'JC', '1');
  await must(
    put(t, {
      resourceType: 'OrganizationAffiliation',
      id: `red-${tag}`,
      active: true,
      organization: { reference: `Organization/${cmn.id}` },
      participatingOrganization: { reference: `Organization/${umf.id}` },
      network: [{ display: 'Red de Telemedicina ISSSTE' }],
      specialty: [{ coding: [cardiology] }, { coding: [dermatology] }],
    }),
    'affiliation',
  );
  const serviceId = `cardio-${tag}`;
  await must(
    put(t, {
      resourceType: 'HealthcareService',
      id: serviceId,
      active: true,
      providedBy: { reference: `Organization/${cmn.id}` },
      name: 'Cardiología por telemedicina',
      specialty: [{ coding: [cardiology] }],
      characteristic: [{ coding: [{ system: actCodeSystem, code: 'VR', display: 'virtual' }] }],
    }),
    'service',
  );
  await must(put(t, { resourceType: 'Schedule', id: `agenda-${tag}`, active: true, actor: [{ reference: `HealthcareService/${serviceId}` }], serviceType: [{ coding: [cardiology] }] }), 'schedule');
  const slotIds: string[] = [];
  for (let i = 0; i < slots; i++) {
    const id = `slot-${i}-${tag}`;
    await must(put(t, { resourceType: 'Slot', id, schedule: { reference: `Schedule/agenda-${tag}` }, status: 'free', start: `2026-12-1${i}T16:00:00Z`, end: `2026-12-1${i}T16:30:00Z` }), 'slot');
    slotIds.push(id);
  }
  const patient = mxFixture<Patient>('patient.json');
  const patientId = `paciente-${tag}`;
  const curp = freshCurp();
  patient.id = patientId;
  patient.identifier = (patient.identifier ?? []).map((i) => (i.system === curpSystem ? { ...i, value: curp } : { ...i, value: tag.toUpperCase() }));
  await must(put(t, patient), 'patient');
  return { tag, umf, cmn, outside, patientId, serviceId, slotIds, patientToken: await roleToken('patient', { patient: patientId }, `pac-${tag}`), admin: await roleToken('admin', {}, `admin-${tag}`) };
}

export function referral(w: ReferralWorld, folio = uniqueTag(), change: (sr: ServiceRequest) => void = () => undefined): ServiceRequest {
  const sr: ServiceRequest = {
    resourceType: 'ServiceRequest',
    extension: [{ url: modalityExtension, valueCoding: { system: actCodeSystem, code: 'VR', display: 'virtual' } }],
    identifier: [{ system: `${folioSystemPrefix}${w.umf.clues}`, value: folio }],
    status: 'active',
    intent: 'order',
    category: [{ coding: [{ system: 'http://snomed.info/sct', code: '3457005', display: 'Referencia de paciente' }] }],
    priority: 'urgent',
    code: { text: 'Interconsulta a cardiología' },
    subject: { reference: `Patient/${w.patientId}` },
    authoredOn: '2026-12-01T10:00:00-06:00',
    requester: { reference: `PractitionerRole/${w.umf.roleId}` },
    performer: [{ reference: `Organization/${w.cmn.id}` }],
    performerType: { coding: [cardiology] },
    reasonCode: [{ coding: [{ system: cie10System, code: 'I10X', display: 'Hipertensión esencial (primaria)' }] }],
    supportingInfo: [{ reference: `DocumentReference/resumen-${w.tag}` }],
  };
  change(sr);
  return sr;
}

/** The supporting clinical summary (NOM-004 6.4: motivo de envío, impresión diagnóstica, terapéutica empleada). */
export function clinicalSummary(w: ReferralWorld, id = `resumen-${w.tag}`) {
  const text = 'Motivo de envío: hipertensión de difícil control. Impresión diagnóstica: I10X. Terapéutica empleada: losartán 50 mg c/12 h.';
  return {
    resourceType: 'DocumentReference' as const,
    id,
    status: 'current' as const,
    type: { coding: [{ system: 'http://loinc.org', code: '57133-1', display: 'Referral note' }] },
    subject: { reference: `Patient/${w.patientId}` },
    content: [{ attachment: { contentType: 'text/plain', data: Buffer.from(text, 'utf8').toString('base64') } }],
  };
}

/** Sends a referral (summary + ServiceRequest) in one transaction, idempotent by folio; returns the bundle response. */
export function sendReferral(t: TestApp, w: ReferralWorld, sr: ServiceRequest, token = w.umf.doctor): Promise<LightMyRequestResponse> {
  const folio = sr.identifier?.[0];
  const summaryId = sr.supportingInfo?.[0]?.reference?.split('/')[1] ?? `resumen-${w.tag}`;
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { resource: clinicalSummary(w, summaryId), request: { method: 'PUT', url: `DocumentReference/${summaryId}` } },
      { fullUrl: 'urn:uuid:7f0c5f2e-7d6b-4a57-9f56-1f0a7d1c0001', resource: sr, request: { method: 'POST', url: 'ServiceRequest', ifNoneExist: `identifier=${folio?.system ?? ''}|${folio?.value ?? ''}` } },
    ],
  };
  return t.request({ method: 'POST', url: '/fhir', headers: fhirJson, payload: bundle, token });
}

export async function taskOf(t: TestApp, serviceRequestId: string, token?: string): Promise<{ task: Task; etag: string }> {
  const res = await t.request({ method: 'GET', url: `/fhir/Task?focus=ServiceRequest/${serviceRequestId}`, token });
  const tasks = (res.json() as Bundle<Task>).entry?.map((e) => e.resource).filter((r): r is Task => r?.resourceType === 'Task') ?? [];
  if (tasks.length !== 1) throw new Error(`expected one Task for ServiceRequest/${serviceRequestId}, got ${tasks.length}: ${res.body}`);
  const task = tasks[0]!;
  return { task, etag: `W/"${task.meta?.versionId ?? ''}"` };
}

/** PUT of a changed Task with If-Match of the version read. */
export async function moveTask(t: TestApp, serviceRequestId: string, token: string, change: (task: Task) => void): Promise<LightMyRequestResponse> {
  const { task, etag } = await taskOf(t, serviceRequestId);
  const next = structuredClone(task);
  change(next);
  return put(t, next, token, { 'if-match': etag });
}

export function consent(w: ReferralWorld, change: (c: Consent) => void = () => undefined): Consent {
  const c: Consent = {
    resourceType: 'Consent',
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'treatment' }] },
    category: [{ coding: [{ system: consentCategorySystem, code: 'telemedicina', display: 'Consentimiento informado para telemedicina' }] }],
    patient: { reference: `Patient/${w.patientId}` },
    dateTime: '2026-12-01T09:00:00-06:00',
    policyRule: { text: 'NOM-004-SSA3-2012, 10.1: carta de consentimiento informado' },
    provision: { type: 'permit', period: { start: '2026-12-01' } },
  };
  change(c);
  return c;
}

export function contrarreferencia(w: ReferralWorld, id: string): Composition {
  const div = (s: string) => ({ status: 'generated' as const, div: `<div xmlns="http://www.w3.org/1999/xhtml"><p>${s}</p></div>` });
  return {
    resourceType: 'Composition',
    id,
    status: 'final',
    type: { coding: [{ system: 'http://loinc.org', code: '11488-4', display: 'Nota de interconsulta' }] },
    subject: { reference: `Patient/${w.patientId}` },
    date: '2026-12-10T17:00:00-06:00',
    author: [{ reference: `Practitioner/${w.cmn.practitionerId}` }],
    custodian: { reference: `Organization/${w.cmn.id}` },
    title: 'Contrarreferencia: cardiología',
    section: [
      { title: 'Criterios diagnósticos', text: div('Hipertensión arterial sistémica estadio 2 sin daño a órgano blanco.') },
      { title: 'Plan de estudio', text: div('Ecocardiograma transtorácico y MAPA de 24 h en su unidad.') },
      { title: 'Sugerencias diagnóstico-terapéuticas', text: div('Agregar amlodipino 5 mg c/24 h; control en 4 semanas en su UMF.') },
    ],
  };
}
