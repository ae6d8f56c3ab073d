/** Core REST interactions (issue: core server): create, read, update, history at 32 connections. */
import type { Measure, Server } from '../harness.ts';
import { load, post } from '../harness.ts';
import { mexicanPatient } from '../fixtures.ts';

export interface BenchSettings {
  durationSeconds: number;
  rounds: number;
  connections: number;
}

export type CrudScenario = 'read' | 'create' | 'update' | 'history' | 'vread';

export async function crudScenarios(server: Server, s: BenchSettings, only?: readonly CrudScenario[], label = ''): Promise<Measure[]> {
  const ids: string[] = [];
  for (let i = 0; i < 500; i++) {
    ids.push((await post(server, '/fhir/Patient', mexicanPatient(i))).id);
  }
  const pick = () => ids[Math.floor(Math.random() * ids.length)]!;
  const common = { url: server.url, connections: s.connections, durationSeconds: s.durationSeconds, rounds: s.rounds, server };
  const json = { 'content-type': 'application/fhir+json', ...server.auth };
  const body = JSON.stringify(mexicanPatient(1));
  const wanted = (name: CrudScenario) => !only || only.includes(name);
  const out: Measure[] = [];
  if (wanted('read')) {
    out.push(await load({ ...common, name: `read Patient by id${label}`, requests: [{ method: 'GET', headers: server.auth, setupRequest: (req) => ({ ...req, path: `/fhir/Patient/${pick()}` }) }] }));
  }
  if (wanted('create')) {
    out.push(await load({ ...common, name: `create Patient${label}`, requests: [{ method: 'POST', path: '/fhir/Patient', headers: { ...json, prefer: 'return=representation' }, body }] }));
  }
  if (wanted('update')) {
    out.push(
      await load({
        ...common,
        name: `update Patient (PUT)${label}`,
        requests: [
          {
            method: 'PUT',
            headers: json,
            setupRequest: (req) => {
              const id = pick();
              return { ...req, path: `/fhir/Patient/${id}`, body: JSON.stringify({ ...mexicanPatient(2), id }) };
            },
          },
        ],
      }),
    );
  }
  if (wanted('history')) {
    out.push(await load({ ...common, name: `history of one Patient${label}`, requests: [{ method: 'GET', headers: server.auth, setupRequest: (req) => ({ ...req, path: `/fhir/Patient/${pick()}/_history` }) }] }));
  }
  if (wanted('vread')) {
    out.push(await load({ ...common, name: `vread Patient version 1${label}`, requests: [{ method: 'GET', headers: server.auth, setupRequest: (req) => ({ ...req, path: `/fhir/Patient/${pick()}/_history/1` }) }] }));
  }
  return out;
}
