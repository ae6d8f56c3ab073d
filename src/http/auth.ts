/**
 * Authentication and audit at the HTTP edge. Every request under the FHIR
 * base needs a valid bearer token (metadata excepted), and every one of them
 * leaves exactly one audit record, committed before the answer is sent (see
 * AuditTrail for the guarantee) — except failed authentications, audited at
 * most once per address per interval with a count (auth-failures.ts), so
 * that nobody can flood the trail without logging in. The rate limit is
 * applied here too: per verified identity, else per client address.
 */
import type { FastifyInstance } from 'fastify';
import { errors as joseErrors, type JWTPayload } from 'jose';
import { actorFromClaims, type Actor } from '../auth/actor.ts';
import type { TokenVerifier } from '../auth/verify-token.ts';
import { auditFacts, newAuditInfo, type AuditInfo } from '../audit/audit-info.ts';
import { auditRow } from '../audit/audit-event.ts';
import type { AuditTrail } from '../audit/audit-trail.ts';
import { FhirError, issue, outcome } from '../fhir/errors.ts';
import { countAuthFailure } from '../audit/auth-failures.ts';
import type { Db } from '../store/resource-store.ts';
import { addressKey, identityKey, type RequestLimiter } from './rate-limit.ts';
import { fhirJson } from './send.ts';

declare module 'fastify' {
  interface FastifyRequest {
    actor?: Actor;
    audit?: AuditInfo;
  }
}

export interface AuthOptions {
  basePath: string;
  verify: TokenVerifier;
  trail: AuditTrail;
  realm?: string;
  limiter?: RequestLimiter;
  /** Audit failed authentications once per address per interval (absent: each one). */
  failedAuthAudit?: { db: Db; intervalMs: number };
}

/** Probes of the load balancer are never limited. */
const unlimited = new Set(['/healthz', '/readyz']);

function unauthorized(reason: { es: string; en: string }, error: string, realm: string): FhirError {
  const description = reason.en.replace(/"/g, "'");
  return new FhirError(401, [issue('login', reason, 'Authorization')], {
    'www-authenticate': `Bearer realm="${realm}", error="${error}", error_description="${description}"`,
  });
}

function whyInvalid(err: unknown): { es: string; en: string } {
  if (err instanceof joseErrors.JWTExpired) {
    return { es: 'El token expiró', en: 'The token has expired' };
  }
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    const claim = err.claim;
    const es: Record<string, string> = { aud: 'audiencia (aud) incorrecta', iss: 'emisor (iss) no confiable', nbf: 'aún no es válido (nbf)', sub: 'falta el sujeto (sub)', exp: 'falta la expiración (exp)' };
    return { es: `Token rechazado: ${es[claim] ?? `claim ${claim} inválido`}`, en: `Token rejected: ${claim} claim check failed (${err.reason})` };
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed || err instanceof joseErrors.JWKSNoMatchingKey) {
    return { es: 'Firma del token inválida o de una llave desconocida', en: 'Invalid token signature or unknown signing key' };
  }
  return { es: 'Token mal formado', en: 'Malformed token' };
}

/** Everything under the FHIR base needs a token, except discovery (CapabilityStatement, SMART configuration) and the receta signature keys, which anyone may need to verify a receta. */
function needsToken(path: string, basePath: string): boolean {
  if (path !== basePath && !path.startsWith(`${basePath}/`)) {
    return false;
  }
  const rest = path.slice(basePath.length).replace(/\/+$/, '');
  return rest !== '/metadata' && rest !== '/.well-known/smart-configuration' && rest !== '/.well-known/receta-jwks.json';
}

// The verifier returns the same payload object for a cached token, so the parsed actor can be reused too.
const actors = new WeakMap<object, Actor>();
function actorOf(claims: JWTPayload): Actor {
  let actor = actors.get(claims);
  if (!actor) {
    actor = actorFromClaims(claims);
    actors.set(claims, actor);
  }
  return actor;
}

export function registerAuth(app: FastifyInstance, options: AuthOptions): void {
  const realm = options.realm ?? 'ecu-fhir';
  app.decorateRequest('actor', undefined);
  app.decorateRequest('audit', undefined);

  app.addHook('onRequest', async (request) => {
    const path = request.url.split('?')[0] ?? '/';
    const limiter = options.limiter;
    if (!needsToken(path, options.basePath)) {
      if (limiter && !unlimited.has(path)) await limiter.enforce(addressKey(request.ip));
      return;
    }
    request.audit = newAuditInfo(request.id, request.ip, request.url, options.basePath);
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match?.[1]) {
      if (limiter) await limiter.enforce(addressKey(request.ip));
      throw unauthorized({ es: 'Falta el encabezado Authorization: Bearer <token>', en: 'Missing Authorization: Bearer <token> header' }, 'invalid_request', realm);
    }
    let actor: Actor;
    try {
      actor = actorOf(await options.verify(match[1]));
    } catch (err) {
      if (limiter) await limiter.enforce(addressKey(request.ip));
      throw unauthorized(whyInvalid(err), 'invalid_token', realm);
    }
    request.actor = actor;
    request.audit.actor = actor;
    if (limiter) await limiter.enforce(identityKey(actor));
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const audit = request.audit;
    if (!audit || audit.done) {
      return payload;
    }
    audit.done = true;
    const status = reply.statusCode;
    if (audit.recordedInTransaction && status < 400) {
      return payload;
    }
    try {
      let text = status >= 400 ? firstIssueText(payload) : undefined;
      if (!audit.actor && options.failedAuthAudit && (status === 401 || status === 429)) {
        const { db, intervalMs } = options.failedAuthAudit;
        const failures = await countAuthFailure(db, audit.clientIp, intervalMs);
        if (!failures.audit) return payload;
        const seconds = Math.round(intervalMs / 1000);
        text = `${text ?? ''} [${failures.previous} autenticaciones fallidas desde esta dirección en los ${seconds} s anteriores / ${failures.previous} failed authentications from this address in the previous ${seconds} s]`;
      }
      await options.trail.record(auditRow(auditFacts(audit, status, text)));
    } catch (err) {
      // Fail closed: nothing is disclosed that the audit trail does not hold.
      request.log.error({ err }, 'audit record could not be written');
      reply.code(503).type(fhirJson);
      reply.removeHeader('etag');
      reply.removeHeader('location');
      reply.removeHeader('last-modified');
      return JSON.stringify(outcome([issue('transient', { es: 'No se pudo registrar la bitácora de auditoría; reintente', en: 'The audit record could not be written; retry' })]));
    }
    return payload;
  });
}

function firstIssueText(payload: unknown): string | undefined {
  if (typeof payload !== 'string') {
    return undefined;
  }
  try {
    return (JSON.parse(payload) as { issue?: { details?: { text?: string } }[] }).issue?.[0]?.details?.text;
  } catch {
    return undefined;
  }
}

