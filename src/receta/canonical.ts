/**
 * What a receta signature covers, and its canonical bytes.
 *
 * The signed content of a MedicationRequest is the resource as stored minus
 * the elements that may change after signing: `meta` (server bookkeeping),
 * `status` and `statusReason` (the lifecycle). Everything else — medicine,
 * dose, quantities, validity, patient, prescriber, folio (groupIdentifier),
 * narrative — is frozen once signed.
 *
 * The payload of a receta (one folio, several MedicationRequests) is the JSON
 * array of the signed contents ordered by id, serialised with the JSON
 * Canonicalization Scheme (RFC 8785, the `canonicalize` package): object keys
 * sorted by UTF-16 code units, no whitespace, numbers in ECMAScript shortest
 * form, strings with minimal escaping; then UTF-8. Decimals are taken as the
 * JSON numbers they parse to (1.50 and 1.5 sign the same).
 */
import canonicalize from 'canonicalize';
import type { MedicationRequest } from '@medplum/fhirtypes';

/** Elements a signed prescription may still change. */
export const mutableAfterSigning = ['meta', 'status', 'statusReason'] as const;

export function signedContent(request: MedicationRequest): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...request };
  for (const key of mutableAfterSigning) {
    delete copy[key];
  }
  return copy;
}

export function canonicalJson(value: unknown): string {
  const out = canonicalize(value);
  if (out === undefined) {
    throw new Error('value cannot be canonicalised');
  }
  return out;
}

/** RFC 8785 bytes of a receta: its prescriptions' signed contents ordered by id. */
export function canonicalPayload(requests: readonly MedicationRequest[]): Uint8Array {
  const ordered = [...requests].sort((a, b) => ((a.id ?? '') < (b.id ?? '') ? -1 : (a.id ?? '') > (b.id ?? '') ? 1 : 0));
  return new TextEncoder().encode(canonicalJson(ordered.map(signedContent)));
}

/** Whether two versions differ in what a signature covers. */
export function signedContentChanged(before: MedicationRequest, after: MedicationRequest): boolean {
  return canonicalJson(signedContent(before)) !== canonicalJson(signedContent(after));
}
