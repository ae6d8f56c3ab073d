/**
 * The token endpoint of SMART Backend Services (RFC 6749 §4.4 with an RFC 7523
 * client assertion): https://hl7.org/fhir/smart-app-launch/backend-services.html
 * The client proves who it is with a JWT signed by a key it registered; the
 * answer is a short-lived access token signed by the server's own key.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, decodeProtectedHeader, errors as joseErrors, importJWK, jwtVerify, SignJWT, type JWTVerifyGetKey } from 'jose';
import type { Database } from '../../store/database.ts';
import type { ClientRegistration } from './client-registration.ts';
import { findClient, serverKeyAlg, useJti, type ServerKey } from './client-store.ts';
import { grantScopes } from './grant-scopes.ts';
import { OAuthError } from './oauth-error.ts';

/** Where the token endpoint and the key set of its tokens live, under the server's origin. */
export const tokenPath = '/auth/token';
export const jwksPath = '/auth/jwks.json';
export const assertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export const assertionAlgorithms = ['RS384', 'ES384'];
/** The longest an assertion may live (SMART: exp no more than five minutes in the future). */
const maxAssertionSeconds = 300;
const clockTolerance = 5;

export interface TokenEndpointOptions {
  db: Kysely<Database>;
  key: ServerKey;
  /** `iss` of the access tokens issued here. */
  issuer: string;
  /** `aud` of the access tokens: the FHIR server's audience. */
  audience: string;
  tokenLifetimeSeconds: number;
  now?: () => Date;
}

export interface TokenAnswer {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
  scope: string;
}

const remoteKeySets = new Map<string, JWTVerifyGetKey>();

function keysOf(client: ClientRegistration): JWTVerifyGetKey {
  if (client.jwks) return createLocalJWKSet(client.jwks);
  const url = client.jwksUrl ?? '';
  let set = remoteKeySets.get(url);
  if (!set) {
    set = createRemoteJWKSet(new URL(url), { timeoutDuration: 5000 });
    remoteKeySets.set(url, set);
  }
  return set;
}

const badClient = (es: string, en: string): OAuthError => new OAuthError('invalid_client', { es, en });

function why(err: unknown): OAuthError {
  if (err instanceof OAuthError) return err;
  if (err instanceof joseErrors.JWTExpired) return badClient('La aserción del cliente expiró', 'The client assertion has expired');
  if (err instanceof joseErrors.JWTClaimValidationFailed) return badClient(`Aserción rechazada: claim ${err.claim} inválido`, `Assertion rejected: ${err.claim} claim check failed (${err.reason})`);
  if (err instanceof joseErrors.JWKSNoMatchingKey) return badClient('Ninguna llave registrada del cliente coincide con el kid de la aserción', 'No registered key of the client matches the assertion kid');
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return badClient('Algoritmo de firma no admitido: use RS384 o ES384', 'Signing algorithm not allowed: use RS384 or ES384');
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return badClient('Firma de la aserción inválida', 'Invalid assertion signature');
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JOSEError) return badClient('No se pudo verificar la aserción con las llaves del cliente', 'The assertion could not be verified with the client keys');
  return badClient('Aserción mal formada', 'Malformed assertion');
}

/** The client id the assertion claims, for the audit record of a refusal (unverified). */
export function claimedClient(form: URLSearchParams): string | undefined {
  try {
    const iss = decodeJwt(form.get('client_assertion') ?? '').iss;
    return typeof iss === 'string' ? iss.slice(0, 200) : undefined;
  } catch {
    return undefined;
  }
}

function required(form: URLSearchParams, name: string): string {
  const values = form.getAll(name);
  if (values.length !== 1 || !values[0]) {
    throw new OAuthError('invalid_request', { es: `Falta el parámetro ${name} (o está repetido)`, en: `The ${name} parameter is missing (or repeated)` });
  }
  return values[0];
}

/** Verifies the request and issues a token, or throws an OAuthError. `tokenUrl` is the `aud` the assertion must name. */
export async function issueToken(form: URLSearchParams, tokenUrl: string, o: TokenEndpointOptions): Promise<{ answer: TokenAnswer; client: ClientRegistration }> {
  const grantType = required(form, 'grant_type');
  if (grantType !== 'client_credentials') {
    throw new OAuthError('unsupported_grant_type', { es: `grant_type no admitido "${grantType}": solo client_credentials`, en: `Unsupported grant_type "${grantType}": client_credentials only` });
  }
  if (required(form, 'client_assertion_type') !== assertionType) {
    throw new OAuthError('invalid_request', { es: `client_assertion_type debe ser ${assertionType}`, en: `client_assertion_type must be ${assertionType}` });
  }
  const assertion = required(form, 'client_assertion');
  const requestedScope = required(form, 'scope');

  let clientId: string;
  try {
    const header = decodeProtectedHeader(assertion);
    if (!assertionAlgorithms.includes(header.alg ?? '')) throw badClient(`Algoritmo de firma no admitido "${header.alg ?? ''}": use RS384 o ES384`, `Signing algorithm "${header.alg ?? ''}" not allowed: use RS384 or ES384`);
    const iss = decodeJwt(assertion).iss;
    if (typeof iss !== 'string' || !iss) throw badClient('La aserción no tiene iss', 'The assertion has no iss');
    clientId = iss;
  } catch (err) {
    throw why(err);
  }
  const client = await findClient(o.db, clientId);
  if (!client) throw badClient(`Cliente no registrado: ${clientId}`, `Unregistered client: ${clientId}`);

  const now = (o.now ?? (() => new Date()))();
  let exp: number;
  let jti: string;
  try {
    const { payload } = await jwtVerify(assertion, keysOf(client), {
      algorithms: assertionAlgorithms,
      issuer: clientId,
      subject: clientId,
      audience: tokenUrl,
      requiredClaims: ['exp', 'jti'],
      clockTolerance,
      currentDate: now,
    });
    exp = payload.exp ?? 0;
    jti = String(payload.jti);
  } catch (err) {
    throw why(err);
  }
  const nowSeconds = Math.floor(now.getTime() / 1000);
  if (exp > nowSeconds + maxAssertionSeconds + clockTolerance) {
    throw badClient('La aserción vence a más de 5 minutos: exp demasiado lejano', 'The assertion expires more than 5 minutes ahead: exp too far');
  }
  if (!(await useJti(o.db, clientId, jti, new Date((exp + clockTolerance) * 1000)))) {
    throw badClient('Aserción ya usada (jti repetido)', 'Assertion already used (replayed jti)');
  }

  const grant = grantScopes(requestedScope, client.scope);
  if ('refused' in grant) throw new OAuthError('invalid_scope', grant.reason);

  const accessToken = await new SignJWT({ scope: grant.granted, role: client.role, clues: client.clues, client_id: client.clientId })
    .setProtectedHeader({ alg: serverKeyAlg, kid: o.key.kid, typ: 'at+jwt' })
    .setIssuer(o.issuer)
    .setAudience(o.audience)
    .setSubject(client.clientId)
    .setJti(randomUUID())
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + o.tokenLifetimeSeconds)
    .sign(await importJWK(o.key.privateJwk, serverKeyAlg));
  return { answer: { access_token: accessToken, token_type: 'bearer', expires_in: o.tokenLifetimeSeconds, scope: grant.granted }, client };
}
