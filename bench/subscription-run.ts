/**
 * `npm run build && flock /tmp/ecu-bench.lock node bench/subscription-run.ts`, briefly:
 * 1. what subscriptions cost the writes: create throughput (autocannon,
 *    BENCH_CONNECTIONS connections) on a server without the subscription
 *    worker and subscriptions, and on one with the worker (fan-out from
 *    resource_history, delivery) and 100 active subscriptions (each
 *    its own criteria, so every create is matched against all 100 and notifies
 *    none); both servers run at once and rounds alternate between them, the
 *    idle one stopped (SIGSTOP) so it takes no CPU. For information, also the
 *    throughput when every create notifies one of the 100 (delivery included).
 * 2. notification latency, the 201 (the commit is before it) to the receiver,
 *    p50 and p99, with the 100 subscriptions active: paced creates (10/s),
 *    each matching one subscription.
 * 3. the raw Fastify+pg ceiling (bench/ceiling.ts) in the same run, after the
 *    rest, for the ratio of each create throughput to its raw insert.
 * BENCH_DURATION seconds per round (default 5), BENCH_ROUNDS rounds (default 3).
 * Prints the lines for bench/RESULTS.md.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { ceilingScenarios, ofCeiling } from './ceiling.ts';
import { load, median, post, startServer, type Server } from './harness.ts';

const seconds = Number(process.env.BENCH_DURATION ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 16);
const subscriptions = 100;
const loadStart = os.loadavg()[0]!;
const started = new Date();

const observation = (code: string) =>
  JSON.stringify({ resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'urn:bench', code }] }, valueQuantity: { value: 72, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' } });
const cpu = (name: string) => (cpuOf[name] ? `${median(cpuOf[name]).toFixed(0)} (rounds: ${cpuOf[name].join(', ')})` : '');
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] ?? NaN;

// The receiver: counts handshakes, and takes the latency of each event notification whose focus it was told about.
const created = new Map<string, number>();
const latencies: number[] = [];
let handshakes = 0;
let notifications = 0;
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    const at = performance.now();
    if (body.includes('"valueCode":"handshake"')) handshakes++;
    else if (body.includes('"valueCode":"event-notification"')) {
      notifications++;
      const focus = /"name":"focus","valueReference":\{"reference":"Observation\/([^"]+)"/.exec(body)?.[1];
      const t = focus ? created.get(focus) : undefined;
      if (t !== undefined) latencies.push(at - t);
    }
    res.end();
  });
});
await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
const port = (receiver.address() as AddressInfo).port;

const off = await startServer();
const on = await startServer({ env: { BENCH_SUBSCRIPTIONS: 'on' } });
const pause = (s: Server) => process.kill(s.pid, 'SIGSTOP');
const resume = (s: Server) => process.kill(s.pid, 'SIGCONT');

const cpuOf: Record<string, number[]> = {};
async function creates(server: Server, name: string, code: (i: number) => string): Promise<number> {
  let i = 0;
  const m = await load({
    name,
    url: server.url,
    connections,
    durationSeconds: seconds,
    rounds: 1,
    server,
    requests: [{ method: 'POST', path: '/fhir/Observation', headers: { 'content-type': 'application/fhir+json', ...server.auth }, setupRequest: (r) => ({ ...r, body: observation(code(i++)) }) }],
  });
  if (m.non2xx || m.errors) throw new Error(`${name}: ${m.non2xx} non-2xx, ${m.errors} errors`);
  // CPU per create of the server process (its worker included) and its PostgreSQL: steadier than throughput on a shared machine.
  if (m.cpu) (cpuOf[name] ??= []).push(m.cpu.server + m.cpu.postgres);
  return m.rps;
}

const rows: string[] = [];
let stopped = false;
try {
  for (let i = 0; i < subscriptions; i++) {
    await post(on, '/fhir/Subscription', {
      resourceType: 'Subscription',
      status: 'requested',
      reason: 'bench',
      criteria: `Observation?code=urn:bench|s${i}`,
      channel: { type: 'rest-hook', endpoint: `http://127.0.0.1:${port}/s${i}`, payload: 'application/fhir+json' },
    });
  }
  for (let i = 0; i < 200 && handshakes < subscriptions; i++) await new Promise((r) => setTimeout(r, 100));
  if (handshakes < subscriptions) throw new Error(`only ${handshakes} handshakes`);

  // Warm-up of both, then alternating rounds, the idle server stopped.
  const offRps: number[] = [];
  const onRps: number[] = [];
  for (let round = -1; round < rounds; round++) {
    pause(on);
    const a = await creates(off, `create, no subscriptions${round < 0 ? ' (warm-up)' : ''}`, () => 'a');
    resume(on);
    pause(off);
    const b = await creates(on, `create, worker + 100 subscriptions${round < 0 ? ' (warm-up)' : ''}`, () => 'a');
    resume(off);
    if (round >= 0) {
      offRps.push(a);
      onRps.push(b);
    }
  }
  // Let the worker catch up with what the rounds wrote before the next measurement.
  await new Promise((r) => setTimeout(r, 2000));
  pause(off);
  const before = notifications;
  const notifying = await creates(on, 'create, each notifying 1 of 100', (i) => `s${i % subscriptions}`);
  const end = Date.now() + 30_000;
  while (notifications - before < notifying * seconds * 0.95 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  const drained = notifications - before;

  // Latency: paced creates, each matching one subscription.
  const until = Date.now() + seconds * 2000;
  let k = 0;
  while (Date.now() < until) {
    const { id } = await post(on, '/fhir/Observation', JSON.parse(observation(`s${k++ % subscriptions}`)) as object);
    created.set(id, performance.now());
    await new Promise((r) => setTimeout(r, 100));
  }
  for (let i = 0; i < 50 && latencies.length < created.size; i++) await new Promise((r) => setTimeout(r, 100));
  resume(off);

  await off.stop();
  await on.stop();
  stopped = true;
  const ceiling = await ceilingScenarios({ connections, durationSeconds: seconds, rounds });
  const base = median(offRps);
  const cost = median(onRps);
  rows.push(
    `Run ${started.toISOString()}, load average (1 min) at start ${loadStart.toFixed(1)}, at end ${os.loadavg()[0]!.toFixed(1)}; ${connections} connections, ${rounds} alternating rounds of ${seconds} s, medians.`,
    '',
    '| server | creates/s | vs no subscriptions | of the raw insert ceiling | CPU µs per create (server + PostgreSQL) |',
    '|---|---|---|---|---|',
    `| no subscriptions, worker off | ${base.toFixed(0)} (rounds: ${offRps.join(', ')}) | | ${ofCeiling(base, ceiling.insert)} | ${cpu('create, no subscriptions')} |`,
    `| worker, 100 active subscriptions (none matching) | ${cost.toFixed(0)} (rounds: ${onRps.join(', ')}) | ${(((cost - base) / base) * 100).toFixed(1)} % | ${ofCeiling(cost, ceiling.insert)} | ${cpu('create, worker + 100 subscriptions')} |`,
    `| the same, each create notifying 1 of the 100 (one round) | ${notifying.toFixed(0)} | ${(((notifying - base) / base) * 100).toFixed(1)} % (${drained} notifications delivered of ~${Math.round(notifying * seconds)}) | ${ofCeiling(notifying, ceiling.insert)} | ${cpu('create, each notifying 1 of 100')} |`,
    `| raw Fastify + pg insert ceiling (bench/ceiling.ts) | ${ceiling.insert.rps} | | 100 % | ${ceiling.insert.cpu ? ceiling.insert.cpu.server + ceiling.insert.cpu.postgres : ''} |`,
    '',
    `Notification latency, 201 to receiver, 100 active subscriptions, 10 creates/s each matching one: p50 ${pct(latencies, 50).toFixed(0)} ms, p99 ${pct(latencies, 99).toFixed(0)} ms (${latencies.length} of ${created.size} notifications).`,
  );
} finally {
  if (!stopped) {
    resume(off);
    resume(on);
    await off.stop();
    await on.stop();
  }
  receiver.close();
}
console.log(`\n${rows.join('\n')}`);
