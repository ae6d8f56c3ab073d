/**
 * The raw Fastify + pg ceiling (bench/ceiling-server.ts) on its own fresh
 * embedded PostgreSQL: read by id and one-row insert, with the same
 * connections, rounds and bodies as the core scenarios. Other runs quote
 * their figures as a ratio to these, measured in the same run.
 */
import { load, post, startServer, type Measure } from './harness.ts';
import { mexicanPatient } from './fixtures.ts';
import type { BenchSettings } from './scenarios/crud.ts';

export interface Ceiling {
  read: Measure;
  insert: Measure;
}

export async function ceilingScenarios(s: BenchSettings): Promise<Ceiling> {
  const server = await startServer({ security: false, entry: 'dist/bench/ceiling-server.js' });
  try {
    const ids: string[] = [];
    for (let i = 0; i < 500; i++) ids.push((await post(server, '/fhir/Patient', mexicanPatient(i))).id);
    let next = ids.length;
    const pick = () => ids[Math.floor(Math.random() * ids.length)]!;
    const common = { url: server.url, connections: s.connections, durationSeconds: s.durationSeconds, rounds: s.rounds, server };
    const read = await load({ ...common, name: 'ceiling: read by id (raw)', requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `/fhir/Patient/${pick()}` }) }] });
    const insert = await load({
      ...common,
      name: 'ceiling: insert (raw)',
      requests: [{ method: 'POST', path: '/fhir/Patient', headers: { 'content-type': 'application/fhir+json' }, setupRequest: (req) => ({ ...req, body: JSON.stringify(mexicanPatient(next++)) }) }],
    });
    return { read, insert };
  } finally {
    await server.stop();
  }
}

/** "42 %" of the ceiling's throughput. */
export function ofCeiling(rps: number, ceiling: Measure): string {
  return ceiling.rps > 0 ? `${Math.round((100 * rps) / ceiling.rps)} %` : 'n/a';
}
