/** A small world for receta tests: a prescriber, a patient with a fresh CURP, tokens, drafts, catalogue entries, sign and dispense calls. */
import type { Medication, MedicationDispense, MedicationRequest, OperationOutcome, Parameters, Patient, Practitioner, Resource } from '@medplum/fhirtypes';
import type { LightMyRequestResponse } from 'fastify';
import { curpCheckDigit } from '../../src/mx/curp.ts';
import { cedulaProfesionalSystem, curpSystem } from '../../src/mx/systems.ts';
import { compendioSystem, controlledGroupExtension, controlledGroupSystem } from '../../src/receta/systems.ts';
import { mxFixture } from '../fixtures/mx/index.ts';
import { fhirJson, uniqueTag, type TestApp } from './app.ts';
import { roleToken } from './tokens.ts';

const consonants = 'BCDFGHJKLMNPQRSTVWXZ';
const pick = () => consonants[Math.floor(Math.random() * consonants.length)] ?? 'B';

/** A valid CURP for a woman born 1984-02-10 in Mexico City, different on each call (almost surely). */
export function freshCurp(): string {
  const first17 = `VIRB840210MDF${pick()}${pick()}${pick()}${Math.floor(Math.random() * 10)}`;
  return first17 + curpCheckDigit(first17);
}

export interface RecetaWorld {
  tag: string;
  practitionerId: string;
  patientId: string;
  curp: string;
  clues: string;
  /** The prescriber: role clinician, fhirUser = the practitioner, clues of the unit. */
  doctor: string;
  pharmacy: string;
  /** A pharmacy of another institution. */
  otherPharmacy: string;
}

export async function recetaWorld(t: TestApp, clues = 'DFIST000011'): Promise<RecetaWorld> {
  const tag = uniqueTag();
  const practitionerId = `medico-${tag}`;
  const patientId = `paciente-${tag}`;
  const curp = freshCurp();
  const practitioner: Practitioner = { resourceType: 'Practitioner', id: practitionerId, identifier: [{ system: cedulaProfesionalSystem, value: '12345678' }], name: [{ family: 'Hernández Ruiz', given: ['Laura'] }] };
  const patient = mxFixture<Patient>('patient.json');
  patient.id = patientId;
  patient.identifier = (patient.identifier ?? []).map((i) => (i.system === curpSystem ? { ...i, value: curp } : { ...i, value: tag.toUpperCase() }));
  for (const r of [practitioner, patient]) {
    const res = await t.request({ method: 'PUT', url: `/fhir/${r.resourceType}/${r.id}`, headers: fhirJson, payload: r });
    if (res.statusCode >= 300) throw new Error(`${r.resourceType}: ${res.body}`);
  }
  return {
    tag,
    practitionerId,
    patientId,
    curp,
    clues,
    doctor: await roleToken('clinician', { clues, fhirUser: `Practitioner/${practitionerId}` }, `dr-${tag}`),
    pharmacy: await roleToken('pharmacy', { clues: 'DFSSA000001' }, `farmacia-${tag}`),
    otherPharmacy: await roleToken('pharmacy', { clues: 'DFIMS000011' }, `farmacia2-${tag}`),
  };
}

/** A draft receta line for the world's patient and prescriber (the MX fixture, with a unique id). */
export function draft(w: RecetaWorld, change: (m: MedicationRequest) => void = () => undefined): MedicationRequest {
  const m = mxFixture<MedicationRequest>('medication-request.json');
  m.id = `rx-${uniqueTag()}`;
  m.status = 'draft';
  m.subject = { reference: `Patient/${w.patientId}` };
  m.requester = { reference: `Practitioner/${w.practitionerId}` };
  change(m);
  return m;
}

export async function put(t: TestApp, r: Resource, token?: string): Promise<LightMyRequestResponse> {
  return t.request({ method: 'PUT', url: `/fhir/${r.resourceType}/${r.id ?? ''}`, headers: fhirJson, payload: r, token });
}

export async function create(t: TestApp, w: RecetaWorld, m: MedicationRequest): Promise<MedicationRequest> {
  const res = await put(t, m, w.doctor);
  if (res.statusCode !== 201) throw new Error(`create ${m.id ?? ''}: ${res.statusCode} ${res.body}`);
  return res.json() as MedicationRequest;
}

export function sign(t: TestApp, id: string, token: string): Promise<LightMyRequestResponse> {
  return t.request({ method: 'POST', url: `/fhir/MedicationRequest/${id}/$sign`, token });
}

export async function signed(t: TestApp, w: RecetaWorld, m: MedicationRequest): Promise<{ request: MedicationRequest; folio: string; parameters: Parameters }> {
  await create(t, w, m);
  const res = await sign(t, m.id ?? '', w.doctor);
  if (res.statusCode !== 200) throw new Error(`sign ${m.id ?? ''}: ${res.statusCode} ${res.body}`);
  const parameters = res.json() as Parameters;
  const folio = parameters.parameter?.find((p) => p.name === 'folio')?.valueIdentifier?.value ?? '';
  return { request: await read(t, m.id ?? ''), folio, parameters };
}

export async function read(t: TestApp, id: string): Promise<MedicationRequest> {
  return (await t.request({ method: 'GET', url: `/fhir/MedicationRequest/${id}` })).json() as MedicationRequest;
}

export function dispense(t: TestApp, requestId: string, quantity: number, token: string, change: (d: MedicationDispense) => void = () => undefined): Promise<LightMyRequestResponse> {
  const d: MedicationDispense = {
    resourceType: 'MedicationDispense',
    status: 'completed',
    medicationCodeableConcept: { text: 'Paracetamol 500 mg tabletas' },
    authorizingPrescription: [{ reference: `MedicationRequest/${requestId}` }],
    quantity: { value: quantity, unit: 'tableta' },
  };
  change(d);
  return t.request({ method: 'POST', url: '/fhir/MedicationDispense', headers: fhirJson, payload: d, token });
}

/** A catalogue Medication with its LGS group (written by an institution token). */
export async function catalogMedication(t: TestApp, group: string, text: string): Promise<{ key: string; medication: Medication }> {
  const n = Math.floor(Math.random() * 1e6);
  const key = `9${String(n % 100).padStart(2, '0')}.${String(Math.floor(n / 100) % 1000).padStart(3, '0')}.${String(Math.floor(Math.random() * 1e4)).padStart(4, '0')}.${String(Math.floor(Math.random() * 100)).padStart(2, '0')}`;
  const medication: Medication = {
    resourceType: 'Medication',
    id: `med-${uniqueTag()}`,
    extension: [{ url: controlledGroupExtension, valueCoding: { system: controlledGroupSystem, code: group } }],
    code: { coding: [{ system: compendioSystem, code: key, display: text }], text },
  };
  const res = await put(t, medication, await roleToken('institution', { clues: 'DFIST000011' }, 'catalogo'));
  if (res.statusCode !== 201) throw new Error(`catalogue: ${res.body}`);
  return { key, medication };
}

export function prescribeKey(m: MedicationRequest, key: string, text: string): void {
  m.medicationCodeableConcept = { coding: [{ system: compendioSystem, code: key, display: text }], text };
}

export function param(p: Parameters, name: string) {
  return p.parameter?.find((x) => x.name === name);
}

/** The issue texts of an OperationOutcome answer, one per line. */
export function text(res: { body: string }): string {
  return ((JSON.parse(res.body) as OperationOutcome).issue ?? []).map((i) => i.details?.text).join('\n');
}
