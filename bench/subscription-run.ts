/**
 * `node bench/subscription-run.ts` (after `npm run build`), briefly:
 * 1. the outbox's write cost: sequential Observation creates per second on a
 *    server without the outbox (BENCH_OUTBOX=off) and with it;
 * 2. notification latency, commit (the 201) to receiver, p50 and p99, with 100
 *    active subscriptions (each create matches all of them) and the delivery
 *    worker running.
 * BENCH_DURATION seconds per measurement (default 10). Prints the lines for bench/RESULTS.md.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { post, startServer, type Server } from './harness.ts';

const seconds = Number(process.env.BENCH_DURATION ?? 10);
const observation = (code: string) => ({ resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'urn:bench', code }] }, valueQuantity: { value: 72, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' } });

async function createsPerSecond(server: Server, code: string, onCreated?: (id: string, at: number) => void): Promise<number> {
  const end = Date.now() + seconds * 1000;
  let n = 0;
  while (Date.now() < end) {
    const { id } = await post(server, '/fhir/Observation', observation(code));
    onCreated?.(id, performance.now());
    n++;
  }
  return n / seconds;
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] ?? NaN;

const without = await startServer({ env: { BENCH_OUTBOX: 'off' } });
let baseline: number;
try {
  await createsPerSecond(without, 'warm');
  baseline = await createsPerSecond(without, 'a');
} finally {
  await without.stop();
}

// Latency is taken for the first subscription's notification of each create (the others share the worker).
const created = new Map<string, number>();
const latencies: number[] = [];
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    const at = performance.now();
    if (req.url === '/s0') {
      const focus = /"focus":\{"reference":"Observation\/([^"]+)"/.exec(body)?.[1];
      const t = focus ? created.get(focus) : undefined;
      if (t !== undefined) latencies.push(at - t);
    }
    res.end();
  });
});
await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
const port = (receiver.address() as AddressInfo).port;
const withOutbox = await startServer({ env: { BENCH_SUBSCRIPTIONS: 'on' } });
let cost: number;
try {
  await createsPerSecond(withOutbox, 'warm');
  cost = await createsPerSecond(withOutbox, 'a');
  for (let i = 0; i < 100; i++) {
    await post(withOutbox, '/fhir/Subscription', { resourceType: 'Subscription', status: 'requested', reason: 'bench', criteria: 'Observation?code=urn:bench|b', channel: { type: 'rest-hook', endpoint: `http://127.0.0.1:${port}/s${i}`, payload: 'application/fhir+json' } });
  }
  // Paced creates (20/s) so latency is the pipeline's, not a queue's.
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    const { id } = await post(withOutbox, '/fhir/Observation', observation('b'));
    created.set(id, performance.now());
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 3000));
} finally {
  await withOutbox.stop();
  receiver.close();
}
console.log(`\n| outbox | creates/s (sequential) |\n|---|---|\n| off | ${baseline.toFixed(0)} |\n| on | ${cost.toFixed(0)} (${(((cost - baseline) / baseline) * 100).toFixed(1)} %) |`);
console.log(`\nNotification latency, commit to receiver, 100 subscriptions: p50 ${pct(latencies, 50).toFixed(0)} ms, p99 ${pct(latencies, 99).toFixed(0)} ms (${latencies.length} of ${created.size} notifications)`);
