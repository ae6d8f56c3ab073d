/** vread: https://hl7.org/fhir/R4/http.html#vread */
import { gone, notFound } from './errors.ts';
import type { FhirContext, FhirRequest, FhirResult } from './types.ts';
import { versionHeaders } from './versioning.ts';
import { readVersion } from '../store/resource-store.ts';
import { outsideCompartment } from '../auth/guard.ts';

export async function vread(req: FhirRequest, ctx: FhirContext): Promise<FhirResult> {
  const type = req.resourceType ?? '';
  const id = req.id ?? '';
  const vid = req.versionId ?? '';
  const version = /^[1-9]\d{0,8}$/.test(vid) ? await readVersion(ctx.db, type, id, Number(vid)) : undefined;
  // Outside a patient token's compartment: the same 404 as a version that never existed.
  if (!version || outsideCompartment(ctx.actor, type, 'r', version.patients)) {
    throw notFound({ es: `No existe la versión ${vid} de ${type}/${id}`, en: `Version ${vid} of ${type}/${id} not found` }, `${type}.meta.versionId`);
  }
  if (version.deleted) {
    throw gone({ es: `La versión ${vid} de ${type}/${id} es su eliminación`, en: `Version ${vid} of ${type}/${id} is its deletion` }, versionHeaders(version));
  }
  return { status: 200, headers: versionHeaders(version), body: version.content ?? undefined, patients: version.patients };
}
