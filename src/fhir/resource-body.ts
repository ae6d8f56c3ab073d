/** Checks that a request body is a resource of the expected type and valid R4 before anything is written. */
import type { Resource } from '@medplum/fhirtypes';
import { badRequest, FhirError, invalidResource } from './errors.ts';
import { normalizeResourceReferences } from './normalize-reference.ts';
import type { FhirContext } from './types.ts';

export const idPattern = /^[A-Za-z0-9\-.]{1,64}$/;

export function requireValidId(id: string): void {
  if (!idPattern.test(id)) {
    throw badRequest({ es: `Id inválido "${id}": solo letras, dígitos, "-" y ".", hasta 64 caracteres`, en: `Invalid id "${id}": only letters, digits, "-" and ".", up to 64 characters` }, 'id');
  }
}

export function requireResource(body: unknown, resourceType: string, ctx: FhirContext): Resource {
  if (body === undefined || body === null || (typeof body === 'string' && body.length === 0)) {
    throw badRequest({ es: `Falta el cuerpo: se espera un recurso ${resourceType} en JSON`, en: `Missing body: a ${resourceType} resource in JSON is expected` });
  }
  dropServerManagedMeta(body);
  const issues = ctx.validate(body, resourceType);
  if (issues.some((i) => i.severity === 'error' || i.severity === 'fatal')) {
    throw invalidResource(issues, 400);
  }
  return body as Resource;
}

/**
 * Profile validation (MX profiles) of a resource that passed base validation: 422 with one issue per problem.
 * Its references are first put in their stored form (400 for a refused one), so the rules judge what will be stored.
 */
export async function requireConformance(resource: Resource, ctx: FhirContext): Promise<void> {
  normalizeResourceReferences(resource, ctx.ownBaseUrls ?? [ctx.baseUrl]);
  const issues = (await ctx.validateProfiles?.(resource, ctx)) ?? [];
  if (issues.some((i) => i.severity === 'error' || i.severity === 'fatal')) {
    throw new FhirError(422, issues);
  }
}

/** meta.versionId and meta.lastUpdated belong to the server; whatever a client sends there is replaced, so it is not judged. */
function dropServerManagedMeta(body: unknown): void {
  const meta = (body as { meta?: unknown } | null)?.meta;
  if (meta !== null && typeof meta === 'object' && !Array.isArray(meta)) {
    delete (meta as Record<string, unknown>).versionId;
    delete (meta as Record<string, unknown>).lastUpdated;
    // A meta that held only those is not an empty element the client sent (ele-1): the server writes its own.
    if (Object.keys(meta).length === 0) delete (body as { meta?: unknown }).meta;
  }
}
