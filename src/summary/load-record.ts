/**
 * Reads what a patient summary needs in a fixed number of queries, whatever
 * the size of the record (no N+1):
 * 1. the patient's compartment, only the types a summary uses, in one scan of
 *    the `patients` GIN index (`patients @> ARRAY[id] AND NOT deleted`);
 * 2. in one statement, every resource those records reference that is not in
 *    the compartment (practitioners, units, medications…) plus the units
 *    (Organizations) of every CLUES stamped on them (identifier index).
 * Finding the patient by identifier adds one indexed query before these.
 */
import type { Organization, Patient, Resource } from '@medplum/fhirtypes';
import { sql } from 'kysely';
import { notFound, gone, badRequest, FhirError, issue } from '../fhir/errors.ts';
import { readCurrent, type Db } from '../store/resource-store.ts';
import { cluesSystem } from '../mx/systems.ts';
import { authorOrganizationRefs, cluesOf, stampedClues } from './authoring-unit.ts';
import { parseJson } from '../json/lossless.ts';

/** Compartment types a summary reads; claims, documents and imaging are left out on purpose. */
export const summaryTypes = [
  'Patient',
  'Condition',
  'AllergyIntolerance',
  'MedicationRequest',
  'MedicationStatement',
  'Observation',
  'Procedure',
  'FamilyMemberHistory',
  'Encounter',
  'Coverage',
  'Provenance',
  // Referrals (src/summary/referrals.ts): the referral, its Task and the contrarreferencia.
  'ServiceRequest',
  'Task',
  'Composition',
] as const;

export interface LoadedResource {
  resource: Resource;
  /** Patients whose compartment holds it (as stored). */
  patients: string[];
  lastUpdated: Date;
}

export interface PatientRecord {
  patientId: string;
  patient: Patient;
  /** The compartment resources of `summaryTypes`, the patient included. */
  compartment: LoadedResource[];
  /** Referenced resources outside the compartment, by `Type/id`. */
  referenced: Map<string, LoadedResource>;
  /** Units (Organizations) by CLUES, for the CLUES stamped on records. */
  unitsByClues: Map<string, Organization>;
}

interface Row {
  resource_type: string;
  id: string;
  content: string;
  patients: string[];
  last_updated: Date;
}

const relativeRef = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/;

function toLoaded(row: Row): LoadedResource {
  return { resource: parseJson(row.content) as Resource, patients: row.patients, lastUpdated: row.last_updated };
}

/** Every relative `Type/id` reference inside a resource (contained and absolute ones are not followed). */
export function referencesIn(node: unknown, out: Set<string> = new Set()): Set<string> {
  if (Array.isArray(node)) {
    for (const item of node) referencesIn(item, out);
  } else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'reference' && typeof value === 'string') {
        if (relativeRef.test(value)) out.add(value);
      } else if (typeof value === 'object') {
        referencesIn(value, out);
      }
    }
  }
  return out;
}

/**
 * `system|value` → the id of the one Patient carrying that identifier. `only`
 * (a patient token's patient) limits the lookup to that patient, so that
 * another person's identifier answers exactly like one nobody has.
 */
export async function findPatientByIdentifier(db: Db, identifier: string, only?: string): Promise<string> {
  const bar = identifier.indexOf('|');
  if (bar <= 0 || bar === identifier.length - 1) {
    throw badRequest({ es: `identifier debe ser sistema|valor (p. ej. ${'urn:oid:2.16.840.1.113883.4.629'}|CURP), no "${identifier}"`, en: `identifier must be system|value (e.g. urn:oid:2.16.840.1.113883.4.629|CURP), not "${identifier}"` }, 'identifier');
  }
  // The search index's identifier rows (current, non-deleted versions only).
  const { rows } = await sql<{ id: string }>`
    SELECT DISTINCT id FROM sp_token
    WHERE resource_type = 'Patient' AND param = 'identifier' AND code = ${identifier.slice(bar + 1)} AND system = ${identifier.slice(0, bar)}
      AND (${only ?? null}::text IS NULL OR id = ${only ?? null})
    LIMIT 2`.execute(db);
  if (rows.length === 0) {
    throw notFound({ es: `Ningún Patient tiene el identificador ${identifier}`, en: `No Patient has identifier ${identifier}` }, 'identifier');
  }
  if (rows.length > 1) {
    throw new FhirError(422, [issue('multiple-matches', { es: `Más de un Patient tiene el identificador ${identifier}: use Patient/{id}`, en: `More than one Patient has identifier ${identifier}: use Patient/{id}` }, 'identifier')]);
  }
  return rows[0]!.id;
}

export async function loadPatientRecord(db: Db, patientId: string): Promise<PatientRecord> {
  const { rows } = await sql<Row>`
    SELECT resource_type, id, content, patients, last_updated FROM resource
    WHERE patients @> ARRAY[${patientId}]::text[] AND NOT deleted AND resource_type = ANY(${[...summaryTypes]}::text[])`.execute(db);
  const compartment = rows.map(toLoaded);
  const patient = compartment.find((r) => r.resource.resourceType === 'Patient' && r.resource.id === patientId)?.resource as Patient | undefined;
  if (!patient) {
    // Only on the error path: tell a deleted patient (410) from one that never existed (404).
    const current = await readCurrent(db, 'Patient', patientId);
    if (current?.deleted) {
      throw gone({ es: `Patient/${patientId} fue eliminado`, en: `Patient/${patientId} was deleted` });
    }
    throw notFound({ es: `No existe Patient/${patientId}`, en: `Patient/${patientId} not found` }, 'Patient.id');
  }
  const loaded = new Set(compartment.map((r) => `${r.resource.resourceType}/${r.resource.id}`));
  const wanted = new Set<string>();
  const clues = new Set<string>();
  for (const { resource } of compartment) {
    for (const ref of referencesIn(resource)) if (!loaded.has(ref)) wanted.add(ref);
    const stamped = stampedClues(resource);
    if (stamped) clues.add(stamped);
  }
  const types: string[] = [];
  const ids: string[] = [];
  for (const ref of wanted) {
    const [type, id] = ref.split('/') as [string, string];
    types.push(type);
    ids.push(id);
  }
  const referenced = new Map<string, LoadedResource>();
  const unitsByClues = new Map<string, Organization>();
  if (ids.length > 0 || clues.size > 0) {
    const { rows: more } = await sql<Row & { by_clues: boolean }>`
      SELECT r.resource_type, r.id, r.content, r.patients, r.last_updated, false AS by_clues
      FROM resource r JOIN unnest(${types}::text[], ${ids}::text[]) AS w(t, i) ON r.resource_type = w.t AND r.id = w.i
      WHERE NOT r.deleted
      UNION ALL
      SELECT resource_type, id, content, patients, last_updated, true AS by_clues FROM resource
      WHERE resource_type = 'Organization' AND NOT deleted AND id IN (
        SELECT id FROM sp_token WHERE resource_type = 'Organization' AND param = 'identifier' AND system = ${cluesSystem} AND code = ANY(${[...clues]}::text[]))
      ORDER BY last_updated DESC`.execute(db);
    for (const row of more) {
      const item = toLoaded(row);
      if (row.by_clues) {
        const c = cluesOf(item.resource as Organization);
        // Newest first: when two Organizations share a CLUES, the most recently written one describes the unit.
        if (c && !unitsByClues.has(c)) unitsByClues.set(c, item.resource as Organization);
      } else {
        referenced.set(`${row.resource_type}/${row.id}`, item);
      }
    }
  }
  return { patientId, patient, compartment, referenced, unitsByClues };
}

/** Keeps only what `visible` allows (scopes, patient compartment); the patient itself must stay visible. */
export function restrictRecord(record: PatientRecord, visible: (r: LoadedResource) => boolean): PatientRecord {
  const referenced = new Map([...record.referenced].filter(([, r]) => visible(r)));
  return { ...record, compartment: record.compartment.filter(visible), referenced };
}

/** The unit (Organization) that authored a record, following the rule in authoring-unit.ts. */
export function authoringUnit(record: PatientRecord, resource: Resource, provenanceUnits: Map<string, string>): Organization | undefined {
  const stamped = stampedClues(resource);
  if (stamped) {
    return record.unitsByClues.get(stamped) ?? ({ resourceType: 'Organization', identifier: [{ system: cluesSystem, value: stamped }] } as Organization);
  }
  const key = `${resource.resourceType}/${resource.id}`;
  const fromProvenance = provenanceUnits.get(key);
  for (const ref of [...(fromProvenance ? [fromProvenance] : []), ...authorOrganizationRefs(resource)]) {
    const org = record.referenced.get(ref)?.resource as Organization | undefined;
    if (org) return org;
  }
  return undefined;
}
