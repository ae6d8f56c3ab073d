/** Core REST interactions (issue: core server): create, read, update, history at 32 connections. */
import type { Measure, Server } from '../harness.ts';
import { load, post } from '../harness.ts';
import { mexicanPatient } from '../fixtures.ts';

export interface BenchSettings {
  durationSeconds: number;
  rounds: number;
  connections: number;
}

export async function crudScenarios(server: Server, s: BenchSettings): Promise<Measure[]> {
  const base = `${server.url}/fhir`;
  const ids: string[] = [];
  for (let i = 0; i < 500; i++) {
    ids.push((await post(`${base}/Patient`, mexicanPatient(i))).id);
  }
  const pick = () => ids[Math.floor(Math.random() * ids.length)]!;
  const common = { url: server.url, connections: s.connections, durationSeconds: s.durationSeconds, rounds: s.rounds };
  const body = JSON.stringify(mexicanPatient(1));
  const out: Measure[] = [];
  out.push(await load({ ...common, name: 'read Patient by id', requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `/fhir/Patient/${pick()}` }) }] }));
  out.push(
    await load({ ...common, name: 'create Patient', requests: [{ method: 'POST', path: '/fhir/Patient', headers: { 'content-type': 'application/fhir+json', prefer: 'return=representation' }, body }] }),
  );
  out.push(
    await load({
      ...common,
      name: 'update Patient (PUT)',
      requests: [
        {
          method: 'PUT',
          headers: { 'content-type': 'application/fhir+json' },
          setupRequest: (req) => {
            const id = pick();
            return { ...req, path: `/fhir/Patient/${id}`, body: JSON.stringify({ ...mexicanPatient(2), id }) };
          },
        },
      ],
    }),
  );
  out.push(await load({ ...common, name: 'history of one Patient', requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `/fhir/Patient/${pick()}/_history` }) }] }));
  out.push(await load({ ...common, name: 'vread Patient version 1', requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `/fhir/Patient/${pick()}/_history/1` }) }] }));
  return out;
}
