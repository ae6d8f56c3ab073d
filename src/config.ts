/** Configuration from the environment, read once at start-up. */
import { devKeyFile } from './auth/dev-key.ts';
import type { AuthSettings } from './auth/verify-token.ts';

export interface Config {
  port: number;
  host: string;
  /** Absent: `npm start` runs an embedded PostgreSQL in `dataDir`. */
  databaseUrl?: string;
  dataDir: string;
  /** Path the FHIR API is mounted on. */
  basePath: string;
  /** Public absolute base URL (for Location, fullUrl, links) when behind a proxy; otherwise taken from the request. */
  publicBaseUrl?: string;
  /** ALLOWED_HOSTS (comma-separated `host` or `host:port`): the other names this server answers to — trusted for absolute URLs when FHIR_BASE_URL is unset, and absolute references under them are stored relative. */
  allowedHosts: string[];
  logLevel: string;
  bodyLimit: number;
  auth: AuthSettings;
  corsOrigins: string[];
  rateLimitPerMinute: number;
  requestTimeoutMs: number;
  maxBundleEntries: number;
  /** MX_PROFILE_ENFORCEMENT: `strict` (default) or `declared`. */
  profileEnforcement: 'strict' | 'declared';
  /** AUDIT_READ_COMMIT: `durable` (default) or `fast` (see src/audit/audit-trail.ts). */
  auditReadCommit: 'durable' | 'fast';
  /** RECETA_SIGNING_JWKS_FILE: the institution's receta signing keys; absent: a development key in DATA_DIR. */
  recetaSigningJwksFile?: string;
  /** IMPORT_ALLOWED_SOURCES (comma-separated URL prefixes): where $import may fetch NDJSON from. */
  importAllowedSources: string[];
  /** IMPORT_MAX_UPLOAD_BYTES: largest NDJSON body uploaded to $import. */
  importMaxUploadBytes: number;
  /** TELEMEDICINE_CONSENT: `required` (default) or `off` (see src/referral/encounter-hook.ts). */
  telemedicineConsent: 'required' | 'off';
  /** SUBSCRIPTION_ALLOWED_ENDPOINTS (comma-separated URL prefixes; http only when listed), SUBSCRIPTION_RETRY_HOURS (default 24), SUBSCRIPTION_POLL_MS (default 200). */
  subscriptions: { allowedEndpoints: string[]; retryHours: number; pollMs: number };
  /** CLIENTS_FILE: system clients registered at start (JSON array); AUTH_TOKEN_LIFETIME_SECONDS: their tokens' life (default 300). */
  authServer: { clientsFile?: string; tokenLifetimeSeconds: number };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    port: int(env.PORT, 8080, 'PORT'),
    host: env.HOST ?? '127.0.0.1',
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: env.DATA_DIR ?? './.data',
    basePath: normaliseBasePath(env.FHIR_BASE_PATH ?? '/fhir'),
    publicBaseUrl: env.FHIR_BASE_URL ? env.FHIR_BASE_URL.replace(/\/+$/, '') : undefined,
    allowedHosts: (env.ALLOWED_HOSTS ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean),
    logLevel: env.LOG_LEVEL ?? 'info',
    bodyLimit: int(env.BODY_LIMIT_BYTES, 16 * 1024 * 1024, 'BODY_LIMIT_BYTES'),
    auth: {
      issuer: env.AUTH_ISSUER || undefined,
      audience: env.AUTH_AUDIENCE || 'ecu-fhir',
      jwksUrl: env.AUTH_JWKS_URL || undefined,
      jwksFile: env.AUTH_JWKS_FILE || undefined,
      publicKeyPem: env.AUTH_PUBLIC_KEY || undefined,
      publicKeyAlg: env.AUTH_PUBLIC_KEY_ALG || undefined,
      devKeyFile: devKeyFile(env.DATA_DIR ?? './.data'),
    },
    corsOrigins: (env.CORS_ORIGINS ?? '').split(',').map((o) => o.trim()).filter(Boolean),
    rateLimitPerMinute: int(env.RATE_LIMIT_PER_MINUTE, 6000, 'RATE_LIMIT_PER_MINUTE'),
    requestTimeoutMs: int(env.REQUEST_TIMEOUT_MS, 60_000, 'REQUEST_TIMEOUT_MS'),
    maxBundleEntries: int(env.BUNDLE_MAX_ENTRIES, 10_000, 'BUNDLE_MAX_ENTRIES'),
    profileEnforcement: enforcement(env.MX_PROFILE_ENFORCEMENT),
    recetaSigningJwksFile: env.RECETA_SIGNING_JWKS_FILE || undefined,
    auditReadCommit: oneOf(env.AUDIT_READ_COMMIT, ['durable', 'fast'] as const, 'AUDIT_READ_COMMIT'),
    importAllowedSources: (env.IMPORT_ALLOWED_SOURCES ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    importMaxUploadBytes: int(env.IMPORT_MAX_UPLOAD_BYTES, 4 * 1024 ** 3, 'IMPORT_MAX_UPLOAD_BYTES'),
    telemedicineConsent: consentPolicy(env.TELEMEDICINE_CONSENT),
    subscriptions: {
      allowedEndpoints: (env.SUBSCRIPTION_ALLOWED_ENDPOINTS ?? '').split(',').map((e) => e.trim()).filter(Boolean),
      retryHours: int(env.SUBSCRIPTION_RETRY_HOURS, 24, 'SUBSCRIPTION_RETRY_HOURS'),
      pollMs: int(env.SUBSCRIPTION_POLL_MS, 200, 'SUBSCRIPTION_POLL_MS'),
    },
    authServer: { clientsFile: env.CLIENTS_FILE || undefined, tokenLifetimeSeconds: int(env.AUTH_TOKEN_LIFETIME_SECONDS, 300, 'AUTH_TOKEN_LIFETIME_SECONDS') },
  };
}

function int(raw: string | undefined, fallback: number, name: string): number {
  if (raw === undefined || raw === '') {
    return fallback;
  }
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  }
  return n;
}

function enforcement(raw: string | undefined): 'strict' | 'declared' {
  if (raw === undefined || raw === '' || raw === 'strict' || raw === 'declared') {
    return raw === 'declared' ? 'declared' : 'strict';
  }
  throw new Error(`MX_PROFILE_ENFORCEMENT must be strict or declared, got "${raw}"`);
}

function oneOf<T extends string>(raw: string | undefined, allowed: readonly T[], name: string): T {
  if (raw === undefined || raw === '') return allowed[0]!;
  if ((allowed as readonly string[]).includes(raw)) return raw as T;
  throw new Error(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
}

function consentPolicy(raw: string | undefined): 'required' | 'off' {
  if (raw === undefined || raw === '' || raw === 'required' || raw === 'off') {
    return raw === 'off' ? 'off' : 'required';
  }
  throw new Error(`TELEMEDICINE_CONSENT must be required or off, got "${raw}"`);
}

function normaliseBasePath(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}
