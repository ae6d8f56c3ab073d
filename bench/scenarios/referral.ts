/**
 * Referral worklists (issue 17): 100,000 referrals (ServiceRequest + its
 * Task) spread over the 118 receiving units of ISSSTE's telemedicine network,
 * sent by 741 first-level units, loaded straight through the store and index
 * code; then the receiving unit's worklist as the issue writes it, at one
 * connection over HTTP (goal: p50 under 10 ms):
 *   Task?owner=Organization/<unit>&status=requested,received,accepted,in-progress
 *       &_sort=-priority,authored-on&_include=Task:focus&_include=Task:patient
 * and the referring unit's list of what came back (Task?requester=…&status=completed).
 * BENCH_REFERRALS changes the count (default 100000). A database that already
 * holds them (BENCH_PG_DIR, bench/referral-run.ts) is not loaded again.
 */
import type { Resource } from '@medplum/fhirtypes';
import { sql } from 'kysely';
import { loadDefinitions } from '../../src/fhir/definitions.ts';
import { connect } from '../../src/store/connect.ts';
import type { Db } from '../../src/store/resource-store.ts';
import type { Measure, Server } from '../harness.ts';
import { load } from '../harness.ts';
import { bulkLoad, loadOnce } from '../synthetic.ts';
import type { BenchSettings } from './crud.ts';

export const receivingUnits = 118;
export const referringUnits = 741;
const statuses = ['completed', 'completed', 'completed', 'completed', 'cancelled', 'rejected', 'requested', 'received', 'accepted', 'in-progress'] as const;
const priorities = ['routine', 'routine', 'routine', 'urgent', 'asap', 'stat'] as const;
const specialties = ['394579002', '394582007', '394583002', '394802001', '394803006', '394587001'];

export interface ReferralBench {
  referrals: number;
  /** Undefined: a kept database already held them (BENCH_PG_DIR). */
  loadSeconds?: number;
  measures: Measure[];
}

function referralPair(n: number, patients: number): Resource[] {
  const owner = `recv-${n % receivingUnits}`;
  const requester = `ref-${(n * 7) % referringUnits}`;
  const patient = `rp-${n % patients}`;
  const specialty = { coding: [{ system: 'http://snomed.info/sct', code: specialties[n % specialties.length]! }] };
  const priority = priorities[(n * 13) % priorities.length]!;
  const authoredOn = new Date(Date.UTC(2026, 0, 1) + (n % 330) * 86_400_000 + (n % 1440) * 60_000).toISOString();
  return [
    {
      resourceType: 'ServiceRequest',
      id: `sr-${n}`,
      identifier: [{ system: `https://ecu-fhir.org/fhir/sid/referencia/CSIST${String((n * 7) % referringUnits).padStart(6, '0')}`, value: `F${n}` }],
      status: 'active',
      intent: 'order',
      category: [{ coding: [{ system: 'http://snomed.info/sct', code: '3457005' }] }],
      priority,
      subject: { reference: `Patient/${patient}` },
      authoredOn,
      performer: [{ reference: `Organization/${owner}` }],
      performerType: specialty,
      reasonCode: [{ coding: [{ system: 'urn:oid:2.16.840.1.113883.6.3', code: 'I10X' }] }],
    } as Resource,
    {
      resourceType: 'Task',
      id: `task-${n}`,
      status: statuses[(n * 3) % statuses.length]!,
      intent: 'order',
      priority,
      code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }] },
      focus: { reference: `ServiceRequest/sr-${n}` },
      for: { reference: `Patient/${patient}` },
      authoredOn,
      requester: { reference: `Organization/${requester}` },
      owner: { reference: `Organization/${owner}` },
      performerType: [specialty],
    } as Resource,
  ];
}

/** The units, patients and referrals (ServiceRequest + Task), bulk-loaded with their index rows, then VACUUM (ANALYZE). */
export async function loadReferrals(db: Db, referrals: number): Promise<void> {
  const patients = Math.max(1, Math.round(referrals / 4));
  const units: Resource[] = [
    ...Array.from({ length: receivingUnits }, (_, i) => ({ resourceType: 'Organization', id: `recv-${i}`, name: `Unidad receptora ${i}` }) as Resource),
    ...Array.from({ length: referringUnits }, (_, i) => ({ resourceType: 'Organization', id: `ref-${i}`, name: `Unidad de medicina familiar ${i}` }) as Resource),
  ];
  await bulkLoad(db, units);
  for (let start = 0; start < patients; start += 2000) {
    await bulkLoad(db, Array.from({ length: Math.min(2000, patients - start) }, (_, i) => ({ resourceType: 'Patient', id: `rp-${start + i}`, gender: i % 2 ? 'male' : 'female', name: [{ family: 'Pérez', given: ['Ana'] }] }) as Resource));
  }
  for (let start = 0; start < referrals; start += 1000) {
    await bulkLoad(db, Array.from({ length: Math.min(1000, referrals - start) }, (_, i) => referralPair(start + i, patients)).flat());
    if ((start / 1000) % 10 === 0) console.log(`referral: loaded ${Math.min(start + 1000, referrals)} / ${referrals}`);
  }
  // A server in service has had its tables vacuumed by autovacuum; right after a bulk load the visibility map is
  // still empty, and every index-only read would fetch its table page: VACUUM as autovacuum would, then measure.
  await sql`VACUUM (ANALYZE)`.execute(db);
}

export async function referralScenarios(server: Server, s: BenchSettings): Promise<ReferralBench> {
  loadDefinitions();
  const referrals = Number(process.env.BENCH_REFERRALS ?? 100_000);
  const db = connect({ databaseUrl: server.databaseUrl, maxConnections: 2 });
  try {
    const loadSeconds = await loadOnce(db, { resourceType: 'Task', idPrefix: 'task-', count: referrals }, () => loadReferrals(db, referrals));
    const one = { url: server.url, connections: 1, durationSeconds: s.durationSeconds, rounds: s.rounds };
    const unit = () => Math.floor(Math.random() * receivingUnits);
    const get = (name: string, path: () => string) => load({ ...one, name, requests: [{ method: 'GET', headers: server.auth, setupRequest: (req) => ({ ...req, path: path() }) }] });
    const measures = [
      await get('receiving worklist (owner, status, _sort, 2 _include)', () => `/fhir/Task?owner=Organization/recv-${unit()}&status=requested,received,accepted,in-progress&_sort=-priority,authored-on&_include=Task:focus&_include=Task:patient`),
      await get('receiving worklist without _include', () => `/fhir/Task?owner=Organization/recv-${unit()}&status=requested,received,accepted,in-progress&_sort=-priority,authored-on`),
      await get('referring unit: what came back', () => `/fhir/Task?requester=Organization/ref-${Math.floor(Math.random() * referringUnits)}&status=completed&_sort=-authored-on`),
    ];
    return { referrals, loadSeconds, measures };
  } finally {
    await db.destroy();
  }
}

export function referralReport(r: ReferralBench): string {
  const rows = r.measures.map((m) => `| ${m.name} | ${m.rps} | ${m.p50} | ${m.p99} | ${m.non2xx} |`);
  return `## Referral worklists (issue 17)

${r.referrals.toLocaleString('en')} referrals (ServiceRequest + Task) over ${receivingUnits} receiving units and ${referringUnits} referring units, 40 % open; ${r.loadSeconds === undefined ? 'loaded in an earlier run (kept database)' : `loaded in ${r.loadSeconds} s`}.
One connection, with authentication and audit. Goal: the receiving unit's worklist p50 under 10 ms.

| scenario | req/s | p50 ms | p99 ms | non-2xx |
|---|---|---|---|---|
${rows.join('\n')}
`;
}
