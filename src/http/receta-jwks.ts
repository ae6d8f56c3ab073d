/**
 * GET {base}/.well-known/receta-jwks.json (public): the public keys of the
 * institution's receta signing key ring, current and retired, so anyone can
 * verify a receta's detached JWS by its `kid` (RFC 7517 JWK Set).
 */
import type { FastifyInstance } from 'fastify';
import type { SigningKeyRing } from '../receta/signing-keys.ts';

export function registerRecetaJwks(app: FastifyInstance, basePath: string, ring: SigningKeyRing): void {
  const body = JSON.stringify(ring.jwks);
  app.get(`${basePath}/.well-known/receta-jwks.json`, async (_request, reply) => reply.type('application/jwk-set+json').header('cache-control', 'public, max-age=300').send(body));
}
