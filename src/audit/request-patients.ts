/** Which patients a request touched, for the audit record's patient entities. */
import type { Resource } from '@medplum/fhirtypes';
import { patientIdOf, patientsOf } from '../fhir/compartment.ts';
import type { FhirRequest, FhirResult } from '../fhir/types.ts';

const idPattern = /^[A-Za-z0-9\-.]{1,64}$/;

/** Patients named by a search's criteria (`patient=`, `subject=Patient/…`, `Patient?_id=`). */
export function patientsInQuery(req: FhirRequest): string[] {
  const out: string[] = [];
  for (const [key, raw] of Object.entries(req.query)) {
    const name = key.split(':')[0];
    const values = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).flatMap((v) => v.split(','));
    for (const value of values) {
      const id = patientIdOf(value) ?? ((name === 'patient' || (name === '_id' && req.resourceType === 'Patient')) && idPattern.test(value) ? value : undefined);
      if (id) {
        out.push(id);
      }
    }
  }
  return out;
}

/** Patients whose record a single-resource answer belongs to. */
export function patientsInResult(result: FhirResult): string[] {
  if (result.body === undefined || result.status >= 300) {
    return [];
  }
  if (result.patients) {
    return result.patients;
  }
  const resource = (typeof result.body === 'string' ? JSON.parse(result.body) : result.body) as Resource;
  return resource.resourceType === 'Bundle' || resource.resourceType === 'OperationOutcome' ? [] : [...patientsOf(resource)];
}
