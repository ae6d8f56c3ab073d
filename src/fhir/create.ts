/** create: https://hl7.org/fhir/R4/http.html#create. The server assigns the id; a client id in the body is ignored, as the spec says. */
import { randomUUID } from 'node:crypto';
import { conflict } from './errors.ts';
import { requireConformance, requireResource } from './resource-body.ts';
import type { FhirContext, FhirRequest, FhirResult } from './types.ts';
import { stamp } from './versioning.ts';
import { writeResult } from './write-result.ts';
import { persist } from './persist.ts';

export async function create(req: FhirRequest, ctx: FhirContext): Promise<FhirResult> {
  const type = req.resourceType ?? '';
  const resource = requireResource(req.body, type, ctx);
  await requireConformance(resource, ctx);
  const stored = stamp(resource, req.assignedId ?? randomUUID(), 1, ctx.now());
  if (!(await persist(ctx, stored, undefined))) {
    // A random UUID collided: practically impossible, but never overwrite.
    throw conflict({ es: 'Colisión de id al crear; reintente', en: 'Id collision on create; retry' });
  }
  return writeResult(201, stored, req.headers.prefer, { es: `${type}/${stored.id} creado`, en: `${type}/${stored.id} created` }, ctx);
}
