/**
 * Our conformance resources (StructureDefinition, ValueSet, CodeSystem from
 * fhir-profiles/) are served read-only: GET /StructureDefinition/{id} answers
 * from the loaded profiles, and writes to their ids are refused so no client
 * can change the rules the server validates with.
 * https://hl7.org/fhir/R4/structuredefinition.html
 */
import { conformanceById } from '../validation/profiles/registry.ts';
import { methodNotAllowed } from './errors.ts';
import type { FhirResult } from './types.ts';

const conformanceTypes = new Set(['StructureDefinition', 'ValueSet', 'CodeSystem']);
const served = new Map<string, string>();

/** Our conformance resource `type/id` as a read result, or undefined when it is not one of ours. */
export function readConformance(type: string, id: string): FhirResult | undefined {
  if (!conformanceTypes.has(type)) {
    return undefined;
  }
  const key = `${type}/${id}`;
  let json = served.get(key);
  if (json === undefined) {
    const resource = conformanceById(type, id);
    if (!resource) {
      return undefined;
    }
    json = JSON.stringify(resource);
    served.set(key, json);
  }
  return { status: 200, body: json };
}

/** 405 for a write to one of our conformance resources. */
export function refuseConformanceWrite(type: string, id: string): void {
  if (conformanceTypes.has(type) && conformanceById(type, id)) {
    throw methodNotAllowed('write', `${type}/${id}`, ['GET']);
  }
}
