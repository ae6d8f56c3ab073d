/** A token signed by the development key (`npm run token`, `npm run seed`): trusted only while AUTH_ISSUER is unset. */
import { importJWK, SignJWT } from 'jose';
import { devAlgorithm, devIssuer, type DevKey } from './dev-key.ts';
import { defaultScopes, type Role } from './roles.ts';

export interface DevTokenClaims {
  role: Role;
  sub?: string;
  /** Absent: the role's default scopes. */
  scope?: string;
  patient?: string;
  clues?: string;
  name?: string;
  fhirUser?: string;
  hours: number;
  audience?: string;
}

export async function mintDevToken(key: DevKey, claims: DevTokenClaims): Promise<{ token: string; scope: string }> {
  const scope = claims.scope ?? defaultScopes[claims.role];
  const token = await new SignJWT({
    role: claims.role,
    scope,
    ...(claims.patient ? { patient: claims.patient } : {}),
    ...(claims.clues ? { clues: claims.clues } : {}),
    ...(claims.name ? { name: claims.name } : {}),
    ...(claims.fhirUser ? { fhirUser: claims.fhirUser } : {}),
  })
    .setProtectedHeader({ alg: devAlgorithm, kid: key.kid, typ: 'JWT' })
    .setIssuer(devIssuer)
    .setAudience(claims.audience ?? 'ecu-fhir')
    .setSubject(claims.sub ?? `${claims.role}-dev`)
    .setIssuedAt()
    .setExpirationTime(`${claims.hours}h`)
    .sign(await importJWK(key.privateJwk, devAlgorithm));
  return { token, scope };
}
