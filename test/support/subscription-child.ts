/**
 * A server instance in its own process, for the kill -9 test: the parent's
 * test issuer and public keys (TEST_AUTH), delivery worker on, options from
 * the environment; prints its port and waits to be killed.
 */
import { buildApp } from '../../src/app.ts';
import type { AuthSettings } from '../../src/auth/verify-token.ts';

const app = await buildApp({
  databaseUrl: process.env.DATABASE_URL ?? '',
  logger: false,
  auth: JSON.parse(process.env.TEST_AUTH ?? '{}') as AuthSettings,
  rateLimitPerMinute: 0,
  profileEnforcement: 'declared',
  subscriptions: { worker: true, pollMs: Number(process.env.POLL_MS ?? 50), leaseMs: Number(process.env.LEASE_MS ?? 1500), endpoints: { allowed: ['http://127.0.0.1'] } },
});
await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
process.stdout.write(`PORT ${typeof address === 'object' && address ? address.port : 0}\n`);
