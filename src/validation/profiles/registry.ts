/**
 * Our conformance resources, loaded once from fhir-profiles/generated/
 * conformance.json (snapshots made by `npm run profiles` with
 * fhir-snapshot-generator): StructureDefinitions by canonical URL, and the
 * codes of our ValueSets (plus R4 ones that expand locally) for bindings.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Bundle, CodeSystem, StructureDefinition, ValueSet } from '@medplum/fhirtypes';
import { valueSetCodes } from '../value-sets.ts';

export const conformanceFile = path.resolve(import.meta.dirname, '../../../fhir-profiles/generated/conformance.json');

interface Registry {
  structureDefinitions: Map<string, StructureDefinition>;
  codeSystems: Map<string, CodeSystem>;
  valueSets: Map<string, ValueSet>;
}

let registry: Registry | undefined;
const expansions = new Map<string, ReadonlySet<string> | null>();

function load(): Registry {
  if (!registry) {
    const bundle = JSON.parse(readFileSync(conformanceFile, 'utf8')) as Bundle;
    registry = { structureDefinitions: new Map(), codeSystems: new Map(), valueSets: new Map() };
    for (const { resource } of bundle.entry ?? []) {
      if (resource?.resourceType === 'StructureDefinition' && resource.url) {
        registry.structureDefinitions.set(resource.url, resource);
      } else if (resource?.resourceType === 'CodeSystem' && resource.url) {
        registry.codeSystems.set(resource.url, resource);
      } else if (resource?.resourceType === 'ValueSet' && resource.url) {
        registry.valueSets.set(resource.url, resource);
      }
    }
  }
  return registry;
}

/** Every StructureDefinition we publish (profiles and extensions). */
export function ourStructureDefinitions(): StructureDefinition[] {
  return [...load().structureDefinitions.values()];
}

export function structureDefinition(url: string): StructureDefinition | undefined {
  return load().structureDefinitions.get(url.split('|')[0] ?? url);
}

/** Our conformance resources of any kind, by id (for GET /StructureDefinition/{id} and friends). */
export function conformanceById(resourceType: string, id: string): StructureDefinition | ValueSet | CodeSystem | undefined {
  const r = load();
  const pool = resourceType === 'StructureDefinition' ? r.structureDefinitions : resourceType === 'ValueSet' ? r.valueSets : resourceType === 'CodeSystem' ? r.codeSystems : undefined;
  return [...(pool?.values() ?? [])].find((x) => x.id === id);
}

/**
 * The codes a value set allows, as `system|code` (and bare `code` for R4 value
 * sets, which are expanded without systems), or undefined when it cannot be
 * expanded exactly here (then nothing is rejected).
 */
export function bindingCodes(canonical: string): ReadonlySet<string> | undefined {
  const url = canonical.split('|')[0] ?? canonical;
  const cached = expansions.get(url);
  if (cached !== undefined) {
    return cached ?? undefined;
  }
  const ours = load().valueSets.get(url);
  let codes: Set<string> | null = null;
  if (ours) {
    codes = new Set();
    for (const include of ours.compose?.include ?? []) {
      const system = include.system ?? '';
      if (include.concept?.length) {
        include.concept.forEach((c) => codes?.add(`${system}|${c.code}`));
      } else {
        const cs = load().codeSystems.get(system);
        if (!cs?.concept || cs.content !== 'complete') {
          codes = null;
          break;
        }
        cs.concept.forEach((c) => codes?.add(`${system}|${c.code}`));
      }
    }
  } else {
    const r4 = valueSetCodes(url);
    codes = r4 ? new Set(r4) : null;
  }
  expansions.set(url, codes);
  return codes ?? undefined;
}

/** Whether `system|code` (or just `code` for R4 value sets expanded without systems) is in the expansion. */
export function inBinding(codes: ReadonlySet<string>, system: string | undefined, code: string | undefined): boolean {
  return code !== undefined && (codes.has(`${system ?? ''}|${code}`) || codes.has(code));
}
