/** Who is calling, as the rest of the server sees it: taken from verified token claims. */
import type { JWTPayload } from 'jose';
import { defaultScopes, isRole, maxScopes, type Role } from './roles.ts';
import { intersectScopes, parseScopes, type ResourceScope } from './scopes.ts';

export interface Actor {
  /** `iss`: who vouches for the subject (subjects are unique per issuer only); always set from a verified token. */
  issuer?: string;
  /** `sub`: the user or client. */
  subject: string;
  role?: Role;
  /** CLUES of the institution/unit the user acts for (`clues` claim). */
  clues?: string;
  clientId?: string;
  name?: string;
  /** `patient` claim: the patient a `patient/` scope is limited to. */
  patient?: string;
  /** SMART `fhirUser` claim: the user's own resource (`Practitioner/123`), e.g. the prescriber who signs a receta. */
  fhirUser?: string;
  /** The scope claim as received (for the audit trail). */
  scope: string;
  /** Effective scopes: those of the claim, bounded by the role's maximum (roles.ts). */
  scopes: ResourceScope[];
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/**
 * Token without scopes gets its role's defaults; a token with neither gets nothing. A token with a
 * role never gets more than that role's maximum, whatever its scope claim says.
 */
export function actorFromClaims(claims: JWTPayload): Actor {
  const role = isRole(claims.role) ? claims.role : undefined;
  const scope = text(claims.scope) ?? (Array.isArray(claims.scp) ? claims.scp.join(' ') : undefined) ?? (role ? defaultScopes[role] : '');
  const given = parseScopes(scope);
  return {
    issuer: text(claims.iss) ?? '',
    subject: text(claims.sub) ?? 'unknown',
    role,
    clues: text(claims.clues),
    clientId: text(claims.client_id) ?? text(claims.azp),
    name: text(claims.name),
    patient: text(claims.patient),
    fhirUser: text(claims.fhirUser),
    scope,
    scopes: role ? intersectScopes(given, parseScopes(maxScopes[role])) : given,
  };
}
