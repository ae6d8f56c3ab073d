/**
 * The server as `src/main.ts` runs it, for benchmarks only: BENCH_SECURITY=off
 * builds it without authentication and audit, BENCH_INDEXING=off without
 * search index rows, to measure what they cost; BENCH_SUBSCRIPTIONS=on runs
 * the subscription worker (fan-out and delivery; endpoints on 127.0.0.1
 * allowed). Subscriptions add nothing to the write path (their events are
 * read from history), so without the worker they cost nothing.
 * (Production has no such switch: main.ts always authenticates and audits.)
 */
import path from 'node:path';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';

const config = loadConfig();
const app = await buildApp({
  databaseUrl: config.databaseUrl ?? '',
  logger: { level: 'warn' },
  auth: config.auth,
  rateLimitPerMinute: 0,
  security: process.env.BENCH_SECURITY !== 'off',
  searchIndexing: process.env.BENCH_INDEXING !== 'off',
  exportDir: path.resolve(config.dataDir, 'exports'),
  importDir: path.resolve(config.dataDir, 'imports'),
  importAllowedSources: config.importAllowedSources,
  profileEnforcement: config.profileEnforcement,
  auditReadCommit: config.auditReadCommit,
  subscriptions: { worker: process.env.BENCH_SUBSCRIPTIONS === 'on', pollMs: 50, endpoints: { allowed: ['http://127.0.0.1'] } },
});
// As src/main.ts: drop start-up garbage before serving (harness runs node with npm start's flags).
(globalThis as { gc?: () => void }).gc?.();
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
await app.listen({ port: config.port, host: config.host });
