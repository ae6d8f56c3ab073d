/**
 * Protection at the edge: security headers, CORS for an allow-list of EHR
 * frontends, and a per-client request rate limit (per token, else per IP).
 * Request timeouts are Fastify server options (see app.ts).
 */
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { FhirError, issue } from '../fhir/errors.ts';

export interface HardeningOptions {
  /** Origins allowed to call the API from a browser; empty: no CORS. */
  corsOrigins?: string[];
  /** Requests per minute per client; 0 disables the limit. */
  rateLimitPerMinute?: number;
}

export async function registerHardening(app: FastifyInstance, options: HardeningOptions): Promise<void> {
  // The API serves JSON only; the CSP would just break the Swagger UI at /docs.
  await app.register(helmet, { contentSecurityPolicy: false, crossOriginResourcePolicy: { policy: 'same-site' } });
  if (options.corsOrigins?.length) {
    await app.register(cors, {
      origin: options.corsOrigins,
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['Authorization', 'Content-Type', 'Accept', 'If-Match', 'If-None-Match', 'If-None-Exist', 'If-Modified-Since', 'Prefer', 'X-Request-Id'],
      exposedHeaders: ['ETag', 'Location', 'Last-Modified', 'Content-Location', 'X-Request-Id', 'X-Progress', 'Retry-After'],
      maxAge: 600,
    });
  }
  const max = options.rateLimitPerMinute ?? 6000;
  if (max > 0) {
    await app.register(rateLimit, {
      max,
      timeWindow: 60_000,
      // One client = one token (hashed: tokens never sit in memory as keys), or one address without a token.
      keyGenerator: (request) => {
        const auth = request.headers.authorization;
        return auth ? createHash('sha256').update(auth).digest('base64url') : request.ip;
      },
      allowList: (request) => request.url === '/healthz' || request.url === '/readyz',
      errorResponseBuilder: (_request, context) =>
        new FhirError(429, [
          issue('throttled', {
            es: `Demasiadas peticiones: límite de ${context.max} por minuto; reintente en ${Math.ceil(context.ttl / 1000)} s`,
            en: `Too many requests: limit of ${context.max} per minute; retry in ${Math.ceil(context.ttl / 1000)} s`,
          }),
        ]),
    });
  }
}
