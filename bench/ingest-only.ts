/**
 * Just the Synthea transaction ingest (bench/scenarios/exchange.ts), for a
 * short measurement without the whole bench: `npm run build && node bench/ingest-only.ts [seconds]`.
 */
import { loadDefinitions } from '../src/fhir/definitions.ts';
import { syntheaIngest } from './scenarios/exchange.ts';

loadDefinitions();
const seconds = Number(process.argv[2] ?? 5);
const runs = await syntheaIngest({ durationSeconds: seconds, rounds: 1, connections: 4 });
console.log(JSON.stringify(runs.map((r) => ({ clients: r.clients, resourcesPerSecond: r.perSecond, bundles: r.bundles, failures: r.failures, cpu: r.cpu }))));
