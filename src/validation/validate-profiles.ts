/**
 * Profile validation, after base R4 validation passed: which profiles apply
 * to a resource, then each compiled profile's constraints plus the MX rules
 * that go with it. `strict`: every resource of a profiled type must conform to
 * its MX profile, and to every profile in meta.profile. `declared`: only the
 * profiles listed in meta.profile (for deployments that also receive records
 * from systems outside Mexico). https://hl7.org/fhir/R4/validation.html#profile
 */
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { issue } from '../fhir/errors.ts';
import { ecuCanonicalBase } from '../mx/index.ts';
import { checkProfile } from './profiles/check-profile.ts';
import { compileProfile } from './profiles/compile-profile.ts';
import { mxRules, type MxRuleOptions } from './mx-rules.ts';

export type ProfileEnforcement = 'strict' | 'declared';

export const profileEnforcements: readonly ProfileEnforcement[] = ['strict', 'declared'];

export interface ProfileValidationOptions extends MxRuleOptions {
  enforcement: ProfileEnforcement;
  /** Extra profiles to check (the `profile` parameter of $validate). */
  profiles?: readonly string[];
}

const sd = `${ecuCanonicalBase}/StructureDefinition/`;

const byType: Readonly<Record<string, string>> = {
  Patient: 'mx-patient',
  Organization: 'mx-organization',
  Location: 'mx-location',
  Practitioner: 'mx-practitioner',
  FamilyMemberHistory: 'mx-family-member-history',
  MedicationRequest: 'mx-medication-request',
};

/** Observations are profiled by what they measure: LOINC code → MX profile. */
const byLoinc: Readonly<Record<string, string>> = {
  '29463-7': 'mx-body-weight',
  '8302-2': 'mx-body-height',
  '39156-5': 'mx-bmi',
  '8310-5': 'mx-body-temperature',
  '8867-4': 'mx-heart-rate',
  '85354-9': 'mx-blood-pressure',
  '9279-1': 'mx-respiratory-rate',
  '2708-6': 'mx-oxygen-saturation',
  '59408-5': 'mx-oxygen-saturation',
  '882-1': 'mx-blood-group',
};

/** The MX profile a resource of this content must conform to in strict mode, if any. */
export function defaultProfile(resource: Resource): string | undefined {
  if (resource.resourceType === 'Observation') {
    const code = resource.code?.coding?.find((c) => c.system === 'http://loinc.org' && c.code !== undefined && c.code in byLoinc)?.code;
    return code ? sd + byLoinc[code] : undefined;
  }
  const id = byType[resource.resourceType];
  return id ? sd + id : undefined;
}

/** Resource types that have an MX profile (for the CapabilityStatement). */
export function profiledTypes(): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [type, id] of Object.entries(byType)) {
    out[type] = [sd + id];
  }
  out.Observation = [...new Set(Object.values(byLoinc))].map((id) => sd + id);
  return out;
}

function profilesToCheck(resource: Resource, options: ProfileValidationOptions): string[] {
  const urls = new Set<string>();
  if (options.enforcement === 'strict') {
    const url = defaultProfile(resource);
    if (url) {
      urls.add(url);
    }
  }
  for (const p of resource.meta?.profile ?? []) {
    urls.add(p.split('|')[0] ?? p);
  }
  for (const p of options.profiles ?? []) {
    urls.add(p.split('|')[0] ?? p);
  }
  return [...urls];
}

/** Profile issues of a resource that passed base validation: errors mean it must not be stored (422). */
export async function validateProfiles(resource: Resource, options: ProfileValidationOptions): Promise<OperationOutcomeIssue[]> {
  const out: OperationOutcomeIssue[] = [];
  for (const url of profilesToCheck(resource, options)) {
    const profile = compileProfile(url);
    if (!profile) {
      // Profiles of other publishers (US Core, IPS, the R4 vital signs...) are not ours to enforce: say so, do not reject.
      out.push(issue('not-supported', { es: `Perfil ${url} desconocido en este servidor: no se verificó`, en: `Profile ${url} is not known to this server: not checked` }, `${resource.resourceType}.meta.profile`, 'warning'));
      continue;
    }
    if (profile.type !== resource.resourceType) {
      out.push(issue('invalid', { es: `El perfil ${url} es para ${profile.type}, no para ${resource.resourceType}`, en: `Profile ${url} is for ${profile.type}, not ${resource.resourceType}` }, `${resource.resourceType}.meta.profile`));
      continue;
    }
    out.push(...checkProfile(resource, profile));
    out.push(...(await mxRules(url.slice(sd.length), resource, options)));
  }
  return out;
}

export function hasErrors(issues: readonly OperationOutcomeIssue[]): boolean {
  return issues.some((i) => i.severity === 'error' || i.severity === 'fatal');
}
