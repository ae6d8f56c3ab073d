/** The real app on the run's Postgres, driven through `inject()` (full HTTP semantics, no socket). */
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, inject } from 'vitest';
import { buildApp, type AppOptions } from '../../src/app.ts';
import { createOwnDatabase } from './own-database.ts';
import { adminToken, testAuth } from './tokens.ts';

export type TestRequest = InjectOptions & {
  /** Bearer token: absent → an admin token; null → no Authorization header. */
  token?: string | null;
};

export interface TestApp {
  app: FastifyInstance;
  /** The database the app runs on (for a second instance on the same one). */
  databaseUrl: string;
  request(options: TestRequest): Promise<LightMyRequestResponse>;
}

/**
 * Builds one app per test file and closes it afterwards. Generic tests post
 * non-Mexican resources (HL7 examples), so profiles default to `declared`
 * here; MX tests ask for `strict`, the server's default. `ownDatabase` gives
 * the file a freshly migrated database of its own instead of the shared one.
 * `inject()` sends `Host: localhost:80`, allowed here so links keep that name;
 * every failed authentication is audited (tests count them), unless a test asks otherwise.
 */
export function useTestApp(options: Partial<AppOptions> & { ownDatabase?: boolean } = {}): TestApp {
  const holder = {} as TestApp;
  const { ownDatabase, ...appOptions } = options;
  beforeAll(async () => {
    const databaseUrl = ownDatabase ? await createOwnDatabase(inject('databaseUrl')) : inject('databaseUrl');
    holder.databaseUrl = databaseUrl;
    holder.app = await buildApp({ databaseUrl, logger: false, auth: testAuth, rateLimitPerMinute: 0, profileEnforcement: 'declared', allowedHosts: ['localhost:80'], failedAuthAuditSeconds: 0, ...appOptions });
    holder.request = ({ token, ...o }) => {
      const headers: Record<string, string> = { ...(o.headers as Record<string, string> | undefined) };
      const bearer = token === undefined ? adminToken : token;
      if (bearer !== null && headers.authorization === undefined) {
        headers.authorization = `Bearer ${bearer}`;
      }
      return holder.app.inject({ ...o, headers });
    };
  });
  afterAll(async () => {
    await holder.app?.close();
  });
  return holder;
}

export const fhirJson = { 'content-type': 'application/fhir+json' };

/** A unique tag per test so assertions never depend on what other tests wrote. */
export function uniqueTag(): string {
  return `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}
