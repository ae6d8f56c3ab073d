/** The unit that authored each record of a loaded patient record, and its level of care (rule in authoring-unit.ts). */
import type { Organization, Provenance, Resource } from '@medplum/fhirtypes';
import { cluesOf, levelOf, type Level } from './authoring-unit.ts';
import { authoringUnit, type PatientRecord } from './load-record.ts';

export const levelSystem = 'https://ecu-fhir.org/fhir/CodeSystem/nivel-atencion';
export const levelDisplay: Record<Level, string> = { '1': 'Primer nivel', '2': 'Segundo nivel', '3': 'Tercer nivel' };

export interface Units {
  unitOf(resource: Resource): Organization | undefined;
  levelOf(resource: Resource): Level | undefined;
}

/** Provenance targets → the Organization reference that acted (onBehalfOf, else who). */
function provenanceUnits(record: PatientRecord): Map<string, string> {
  const out = new Map<string, string>();
  for (const { resource } of record.compartment) {
    if (resource.resourceType !== 'Provenance') continue;
    const p = resource as Provenance;
    const org = p.agent
      ?.flatMap((a) => [a.onBehalfOf?.reference, a.who?.reference])
      .find((ref): ref is string => typeof ref === 'string' && ref.startsWith('Organization/'));
    if (!org) continue;
    for (const t of p.target ?? []) if (t.reference && !out.has(t.reference)) out.set(t.reference, org);
  }
  return out;
}

export function unitsOf(record: PatientRecord): Units {
  const provenance = provenanceUnits(record);
  const memo = new Map<Resource, Organization | undefined>();
  const unitOf = (resource: Resource) => {
    if (!memo.has(resource)) memo.set(resource, authoringUnit(record, resource, provenance));
    return memo.get(resource);
  };
  return { unitOf, levelOf: (resource) => levelOf(unitOf(resource)) };
}

export function unitLabel(org: Organization | undefined): string | undefined {
  if (!org) return undefined;
  const clues = cluesOf(org);
  return org.name ? (clues ? `${org.name} (CLUES ${clues})` : org.name) : clues ? `CLUES ${clues}` : undefined;
}
