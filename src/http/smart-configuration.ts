/**
 * SMART on FHIR discovery (`/.well-known/smart-configuration`), public. It
 * says which scopes and token issuer the server trusts; the token endpoint is
 * the built-in one for system clients (src/auth/server), the authorization
 * endpoint the identity provider's when configured. https://hl7.org/fhir/smart-app-launch/conformance.html
 */
import type { FastifyInstance } from 'fastify';
import { roles } from '../auth/roles.ts';
import { assertionAlgorithms } from '../auth/server/token-endpoint.ts';
import { serverOrigin, tokenPath } from './auth-server.ts';

export interface SmartOptions {
  basePath: string;
  issuer: string;
  jwksUrl?: string;
  authorizationEndpoint?: string;
  tokenEndpoint?: string;
  publicBaseUrl?: string;
  allowedHosts?: readonly string[];
}

export function registerSmartConfiguration(app: FastifyInstance, options: SmartOptions): void {
  const document = {
    issuer: options.issuer,
    ...(options.jwksUrl ? { jwks_uri: options.jwksUrl } : {}),
    ...(options.authorizationEndpoint ? { authorization_endpoint: options.authorizationEndpoint } : {}),
    grant_types_supported: ['authorization_code', 'client_credentials'],
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: assertionAlgorithms,
    scopes_supported: ['patient/*.rs', 'user/*.cruds', 'user/*.rs', 'system/*.cruds', 'system/*.rs', 'openid', 'fhirUser', 'launch/patient'],
    response_types_supported: ['code'],
    capabilities: ['client-confidential-asymmetric', 'context-standalone-patient', 'permission-patient', 'permission-user', 'permission-v1', 'permission-v2'],
    code_challenge_methods_supported: ['S256'],
    'x-ecu-roles': roles,
  };
  for (const url of ['/.well-known/smart-configuration', `${options.basePath}/.well-known/smart-configuration`]) {
    // The built-in token endpoint (SMART Backend Services) unless an identity provider's is configured.
    app.get(url, async (request, reply) => reply.type('application/json').send({ ...document, token_endpoint: options.tokenEndpoint ?? `${serverOrigin(request, options.publicBaseUrl, options.allowedHosts)}${tokenPath}` }));
  }
}
