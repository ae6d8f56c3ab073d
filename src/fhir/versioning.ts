/** Version identity on the wire: ETag, Last-Modified, Location, and the meta the server stamps. */
import { patientsOf } from './compartment.ts';
import type { Resource } from '@medplum/fhirtypes';
import { badRequest } from './errors.ts';
import type { StoredVersion } from '../store/resource-store.ts';
import { carryNumbers } from '../json/lossless.ts';
import { setStoredContent } from '../store/stored-content.ts';

export function etag(versionId: number): string {
  return `W/"${versionId}"`;
}

/**
 * Reads the version out of an ETag as clients send it: `W/"3"`, `"3"` or `3`.
 * See https://hl7.org/fhir/R4/http.html#concurrency
 */
export function parseEtag(value: string, header: string): number {
  const m = /^\s*(?:W\/)?"?(\d+)"?\s*$/.exec(value);
  if (!m) {
    throw badRequest({ es: `Encabezado ${header} inválido: "${value}" (se espera W/"<versión>")`, en: `Invalid ${header} header: "${value}" (expected W/"<version>")` }, header);
  }
  return Number(m[1]);
}

export function versionHeaders(v: StoredVersion): Record<string, string> {
  return { etag: etag(v.versionId), 'last-modified': v.lastUpdated.toUTCString() };
}

export function versionUrl(baseUrl: string, v: StoredVersion): string {
  return `${baseUrl}/${v.resourceType}/${v.id}/_history/${v.versionId}`;
}

/**
 * The stored form of a version: the client's resource with id and
 * meta.versionId/lastUpdated set by the server, resourceType and id first so
 * the JSON reads naturally.
 */
export function stamp(resource: Resource, id: string, versionId: number, lastUpdated: Date): StoredVersion {
  const { resourceType, id: _ignored, meta, ...rest } = resource as Resource & Record<string, unknown>;
  const stamped = { resourceType, id, meta: { ...meta, versionId: String(versionId), lastUpdated: lastUpdated.toISOString() }, ...rest };
  carryNumbers(resource, stamped);
  const stored: StoredVersion = { resourceType, id, versionId, lastUpdated, deleted: false, content: null, patients: [...patientsOf({ ...(resource as Resource), id })] };
  // The stamped object stays beside the text, so the stamp hooks and the index extraction need not parse it again.
  setStoredContent(stored, stamped);
  return stored;
}

export function tombstone(previous: StoredVersion, lastUpdated: Date): StoredVersion {
  return { resourceType: previous.resourceType, id: previous.id, versionId: previous.versionId + 1, lastUpdated, deleted: true, content: null, patients: previous.patients };
}
