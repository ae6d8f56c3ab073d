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
  // BENCH_IMPORT_SEND_EVERY=n: lines per statement sent ahead in an import chunk (0: one statement per chunk, as before issue 21 ingest).
  ...(process.env.BENCH_IMPORT_SEND_EVERY ? { importJobs: { sendEvery: Number(process.env.BENCH_IMPORT_SEND_EVERY) } } : {}),
  auditReadCommit: config.auditReadCommit,
  subscriptions: { worker: process.env.BENCH_SUBSCRIPTIONS === 'on', pollMs: 50, endpoints: { allowed: ['http://127.0.0.1'] } },
});
// As src/main.ts: drop start-up garbage before serving (harness runs node with npm start's flags).
(globalThis as { gc?: () => void }).gc?.();
// BENCH_MEMLOG=ms: print process.memoryUsage() (MB) every ms to stderr, to see what an RSS peak is made of.
if (process.env.BENCH_MEMLOG) {
  const { PerformanceObserver } = await import('node:perf_hooks');
  const gc = { count: 0, ms: 0, major: 0, majorMs: 0 };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gc.count++;
      gc.ms += e.duration;
      // detail.kind 4 = mark-compact (major)
      if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === 4) {
        gc.major++;
        gc.majorMs += e.duration;
      }
    }
  }).observe({ entryTypes: ['gc'] });
  setInterval(() => {
    const m = process.memoryUsage();
    const mb = (n: number) => Math.round(n / 2 ** 20);
    process.stderr.write(`mem rss ${mb(m.rss)} heapTotal ${mb(m.heapTotal)} heapUsed ${mb(m.heapUsed)} external ${mb(m.external)} arrayBuffers ${mb(m.arrayBuffers)} gc ${gc.count} ${Math.round(gc.ms)} ms major ${gc.major} ${Math.round(gc.majorMs)} ms\n`);
  }, Number(process.env.BENCH_MEMLOG)).unref();
}
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
await app.listen({ port: config.port, host: config.host });
