/**
 * `node bench/profile-run.ts read|vread|create|ingest|import [seconds]` (import: seconds × 1000 resources) (after `npm run build`): one scenario against a
 * server started with `--cpu-prof` (profile written to PROFILE_DIR, default /tmp/ecu-prof, when the server stops),
 * for finding where a request's server time goes. BENCH_BASELINE=<built checkout>: that checkout's server (read, vread, create).
 */
import { loadDefinitions } from '../src/fhir/definitions.ts';
import { load, post, startServer } from './harness.ts';
import { mexicanPatient } from './fixtures.ts';
import { ingest, ingestBundles, prepareIngest } from './scenarios/exchange.ts';
import { bulkImport } from './scenarios/ingest-limits.ts';

loadDefinitions();
const scenario = process.argv[2] ?? 'read';
const seconds = Number(process.argv[3] ?? 10);
const dir = process.env.PROFILE_DIR ?? '/tmp/ecu-prof';
if (scenario === 'import') {
  await bulkImport(seconds * 1000, { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${dir}` });
  console.log(`profile in ${dir}`);
  process.exit(0);
}
const synthea = scenario === 'ingest';
const root = process.env.BENCH_BASELINE;
const server = await startServer({ ...(root && !synthea ? { root } : {}), env: { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${dir}`, ...(synthea ? { MX_PROFILE_ENFORCEMENT: 'declared' } : {}) } });
try {
  if (synthea) {
    await prepareIngest(server);
    await ingest(server, 4, seconds, ingestBundles());
  } else {
    const ids: string[] = [];
    for (let i = 0; i < 500; i++) ids.push((await post(server, '/fhir/Patient', mexicanPatient(i))).id);
    let next = 500;
    const common = { url: server.url, connections: 32, durationSeconds: seconds, rounds: 1, server };
    const any = () => ids[Math.floor(Math.random() * ids.length)];
    if (scenario === 'vread') await load({ ...common, name: 'vread', requests: [{ method: 'GET', headers: server.auth, setupRequest: (req) => ({ ...req, path: `/fhir/Patient/${any()}/_history/1` }) }] });
    else if (scenario === 'read') await load({ ...common, name: 'read', requests: [{ method: 'GET', headers: server.auth, setupRequest: (req) => ({ ...req, path: `/fhir/Patient/${ids[Math.floor(Math.random() * ids.length)]}` }) }] });
    else await load({ ...common, name: 'create', requests: [{ method: 'POST', path: '/fhir/Patient', headers: { 'content-type': 'application/fhir+json', ...server.auth }, setupRequest: (req) => ({ ...req, body: JSON.stringify(mexicanPatient(next++)) }) }] });
  }
} finally {
  await server.stop();
}
console.log(`profile in ${dir}`);
