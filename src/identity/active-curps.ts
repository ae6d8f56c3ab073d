/**
 * Which CURPs a Patient version claims: those of its CURP identifiers
 * (RENAPO system), unless the record is inactive (`active: false`). Only an
 * active record holds its CURP; an inactive one (e.g. the loser of a merge,
 * linked with Patient.link `replaced-by`) gives it up.
 */
import type { Patient } from '@medplum/fhirtypes';
import { curpSystem } from '../mx/systems.ts';

export function activeCurps(patient: Patient | undefined): string[] {
  if (!patient || patient.active === false) return [];
  const out = new Set<string>();
  for (const identifier of patient.identifier ?? []) {
    const value = identifier.system === curpSystem ? identifier.value?.trim().toUpperCase() : undefined;
    if (value) out.add(value);
  }
  return [...out];
}
