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
  // An active Patient's CURP is unique: every create is a new person, every update keeps the patient's own.
  let next = ids.length;
  const wanted = (name: CrudScenario) => !only || only.includes(name);
  const out: Measure[] = [];
  if (wanted('read')) {
    out.push(await load({ ...common, name: `read Patient by id${label}`, requests: [{ method: 'GET', headers: server.auth, setupRequest: (req) => ({ ...req, path: `/fhir/Patient/${pick()}` }) }] }));
  }
  if (wanted('create')) {
    out.push(await load({ ...common, name: `create Patient${label}`, requests: [{ method: 'POST', path: '/fhir/Patient', headers: { ...json, prefer: 'return=representation' }, setupRequest: (req) => ({ ...req, body: JSON.stringify(mexicanPatient(next++)) }) }] }));
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
              const n = Math.floor(Math.random() * ids.length);
              const id = ids[n]!;
              return { ...req, path: `/fhir/Patient/${id}`, body: JSON.stringify({ ...mexicanPatient(n), id, telecom: [{ system: 'phone', value: `+52 55 5555 ${String(next++ % 10_000).padStart(4, '0')}`, use: 'mobile' }] }) };
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
