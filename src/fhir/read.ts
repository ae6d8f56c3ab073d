/** read: https://hl7.org/fhir/R4/http.html#read, with conditional read (If-None-Match / If-Modified-Since). */
import { gone, notFound } from './errors.ts';
import type { FhirContext, FhirRequest, FhirResult } from './types.ts';
import { parseEtag, versionHeaders } from './versioning.ts';
import { readCurrent, type StoredVersion } from '../store/resource-store.ts';
import { readConformance } from './structure-definitions.ts';
import { outsideCompartment } from '../auth/guard.ts';

export async function read(req: FhirRequest, ctx: FhirContext): Promise<FhirResult> {
  const ours = readConformance(req.resourceType ?? '', req.id ?? '');
  if (ours) {
    return ours;
  }
  const current = await readExisting(req, ctx);
  const headers = versionHeaders(current);
  if (notModified(req, current)) {
    return { status: 304, headers };
  }
  return { status: 200, headers, body: current.content ?? undefined, patients: current.patients };
}

/**
 * The current version, or 404/410 as the spec requires. Access comes first: a
 * resource outside a patient token's compartment is a 404 byte for byte like
 * an id that never existed, whatever its state (deleted or not) or version.
 */
export async function readExisting(req: FhirRequest, ctx: FhirContext): Promise<StoredVersion> {
  const type = req.resourceType ?? '';
  const id = req.id ?? '';
  const current = await readCurrent(ctx.db, type, id);
  if (!current || outsideCompartment(ctx.actor, type, 'r', current.patients)) {
    throw notFound({ es: `No existe ${type}/${id}`, en: `${type}/${id} not found` }, `${type}.id`);
  }
  if (current.deleted) {
    throw gone({ es: `${type}/${id} fue eliminado (versión ${current.versionId})`, en: `${type}/${id} was deleted (version ${current.versionId})` }, versionHeaders(current));
  }
  return current;
}

function notModified(req: FhirRequest, current: StoredVersion): boolean {
  const { ifNoneMatch, ifModifiedSince } = req.headers;
  if (ifNoneMatch !== undefined) {
    return ifNoneMatch.split(',').some((tag) => tag.trim() === '*' || parseEtag(tag, 'If-None-Match') === current.versionId);
  }
  if (ifModifiedSince !== undefined) {
    const since = Date.parse(ifModifiedSince);
    // HTTP dates have second precision: compare whole seconds.
    return !Number.isNaN(since) && Math.floor(current.lastUpdated.getTime() / 1000) * 1000 <= since;
  }
  return false;
}
