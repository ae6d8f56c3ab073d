/**
 * Routes of the built-in authorization server for system clients (SMART
 * Backend Services): `POST /auth/token`, `GET /auth/jwks.json` (the keys its
 * access tokens are signed with) and the admin registry `/auth/clients`.
 * The token endpoint speaks OAuth (RFC 6749 JSON errors), not FHIR; the
 * registry, used with an admin token, answers errors as OperationOutcomes.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { actorFromClaims, type Actor } from '../auth/actor.ts';
import { parseRegistration, RegistrationError } from '../auth/server/client-registration.ts';
import { listClients, saveClient } from '../auth/server/client-store.ts';
import { OAuthError } from '../auth/server/oauth-error.ts';
import { claimedClient, issueToken, jwksPath, tokenPath, type TokenEndpointOptions } from '../auth/server/token-endpoint.ts';
import type { TokenVerifier } from '../auth/verify-token.ts';
import { auditFacts, newAuditInfo } from '../audit/audit-info.ts';
import { auditRow } from '../audit/audit-event.ts';
import type { AuditTrail } from '../audit/audit-trail.ts';
import { badRequest, FhirError, issue } from '../fhir/errors.ts';
import { forbidden } from '../auth/guard.ts';
import type { Database } from '../store/database.ts';
import { publicBase } from './public-base.ts';

export { tokenPath };

export interface AuthServerOptions extends Omit<TokenEndpointOptions, 'db'> {
  db: Kysely<Database>;
  publicBaseUrl?: string;
  allowedHosts?: readonly string[];
  verify: TokenVerifier;
  trail?: AuditTrail;
}

/**
 * Origin of the server as clients name it, by the same rule as every absolute URL (public-base.ts): FHIR_BASE_URL,
 * else a Host in ALLOWED_HOSTS, else the listening address — so a forged Host cannot make an assertion addressed
 * to another server acceptable here. Through URL so a default port is dropped the same way everywhere.
 */
export function serverOrigin(request: FastifyRequest, publicBaseUrl: string | undefined, allowedHosts?: readonly string[]): string {
  return new URL(publicBase({ basePath: '', publicBaseUrl, allowedHosts })(request)).origin;
}

async function adminOf(request: FastifyRequest, verify: TokenVerifier): Promise<Actor> {
  const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
  let actor: Actor | undefined;
  try {
    actor = match?.[1] ? actorFromClaims(await verify(match[1])) : undefined;
  } catch {
    actor = undefined;
  }
  if (!actor) {
    throw new FhirError(401, [issue('login', { es: 'Se requiere un token de administrador válido', en: 'A valid admin token is required' }, 'Authorization')], { 'www-authenticate': 'Bearer realm="ecu-fhir"' });
  }
  if (actor.role !== 'admin') throw forbidden({ es: 'Solo un administrador registra clientes', en: 'Only an admin registers clients' });
  return actor;
}

export function registerAuthServer(app: FastifyInstance, o: AuthServerOptions): void {
  const jwks = JSON.stringify({ keys: [o.key.publicJwk] });
  app.get(jwksPath, async (_request, reply) => reply.type('application/jwk-set+json').header('cache-control', 'public, max-age=300').send(jwks));

  app.post(tokenPath, async (request, reply) => {
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache').type('application/json');
    const form = new URLSearchParams(typeof request.body === 'string' ? request.body : '');
    try {
      if (typeof request.body !== 'string' || !/^application\/x-www-form-urlencoded\b/i.test(request.headers['content-type'] ?? '')) {
        throw new OAuthError('invalid_request', { es: 'El cuerpo debe ser application/x-www-form-urlencoded', en: 'The body must be application/x-www-form-urlencoded' });
      }
      const { answer, client } = await issueToken(form, `${serverOrigin(request, o.publicBaseUrl, o.allowedHosts)}${tokenPath}`, o);
      if (o.trail) {
        const info = newAuditInfo(request.id, request.ip, tokenPath, '');
        info.operation = 'token';
        info.actor = { subject: client.clientId, clientId: client.clientId, role: client.role, clues: client.clues, scope: answer.scope, scopes: [] };
        await o.trail.record(auditRow(auditFacts(info, 200)));
      }
      return reply.send(answer);
    } catch (err) {
      if (!(err instanceof OAuthError)) throw err;
      if (o.trail) {
        // A refused assertion is a security event: recorded under the client it claims to be (unverified).
        const info = newAuditInfo(request.id, request.ip, tokenPath, '');
        const claimed = claimedClient(form);
        info.operation = 'token';
        if (claimed) info.actor = { subject: claimed, clientId: claimed, name: 'unverified client assertion', scope: '', scopes: [] };
        await o.trail.record(auditRow(auditFacts(info, err.status, `${err.code}: ${err.reason.en}`)));
      }
      return reply.code(err.status).send(err.body);
    }
  });

  app.get('/auth/clients', async (request, reply) => {
    await adminOf(request, o.verify);
    return reply.type('application/json').send(await listClients(o.db));
  });
  app.post('/auth/clients', async (request, reply) => {
    await adminOf(request, o.verify);
    try {
      const client = parseRegistration(request.body);
      await saveClient(o.db, client);
      return reply.code(201).type('application/json').send(client);
    } catch (err) {
      if (err instanceof RegistrationError) throw badRequest(err.reason, err.field || undefined);
      throw err;
    }
  });
}
