/** update: https://hl7.org/fhir/R4/http.html#update, including update-as-create for a client-chosen id. */
import { badRequest } from './errors.ts';
import { requireConformance, requireResource, requireValidId } from './resource-body.ts';
import { refuseConformanceWrite } from './structure-definitions.ts';
import type { FhirContext, FhirRequest, FhirResult } from './types.ts';
import { stamp } from './versioning.ts';
import { writeVersion } from './versioned-write.ts';
import { writeResult } from './write-result.ts';

export async function update(req: FhirRequest, ctx: FhirContext): Promise<FhirResult> {
  const type = req.resourceType ?? '';
  const id = req.id ?? '';
  requireValidId(id);
  refuseConformanceWrite(type, id);
  const resource = requireResource(req.body, type, ctx);
  if (resource.id === undefined) {
    throw badRequest({ es: `El recurso debe llevar id "${id}" para actualizarlo`, en: `The resource must carry id "${id}" to be updated` }, `${type}.id`, 'required');
  }
  if (resource.id !== id) {
    throw badRequest({ es: `El id del cuerpo ("${resource.id}") no coincide con el de la URL ("${id}")`, en: `Body id ("${resource.id}") does not match the URL id ("${id}")` }, `${type}.id`);
  }
  await requireConformance(resource, ctx);
  const now = ctx.now();
  const result = await writeVersion(ctx, type, id, req.headers.ifMatch, (current) => stamp(resource, id, (current?.versionId ?? 0) + 1, now));
  if (!result) {
    throw new Error('update always writes');
  }
  const created = !result.previous || result.previous.deleted;
  return writeResult(
    created ? 201 : 200,
    result.stored,
    req.headers.prefer,
    created ? { es: `${type}/${id} creado`, en: `${type}/${id} created` } : { es: `${type}/${id} actualizado`, en: `${type}/${id} updated` },
    ctx,
  );
}
