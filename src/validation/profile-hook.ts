/**
 * The server's profile validator: `validateProfiles` with references read
 * from the database (the current version, through the write's own
 * transaction when there is one).
 */
import type { Resource } from '@medplum/fhirtypes';
import type { FhirContext, ProfileValidator } from '../fhir/types.ts';
import { readCurrent } from '../store/resource-store.ts';
import type { ReferenceResolver } from './mx-rules.ts';
import { validateProfiles, type ProfileEnforcement } from './validate-profiles.ts';

export function databaseResolver(ctx: Pick<FhirContext, 'db'>): ReferenceResolver {
  return async (reference) => {
    const match = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(reference);
    if (!match) {
      return undefined;
    }
    const current = await readCurrent(ctx.db, match[1] ?? '', match[2] ?? '');
    return current && !current.deleted && current.content ? (JSON.parse(current.content) as Resource) : undefined;
  };
}

export function profileValidator(enforcement: ProfileEnforcement): ProfileValidator {
  return (resource, ctx, profiles) => validateProfiles(resource, { enforcement, profiles, resolve: databaseResolver(ctx) });
}
