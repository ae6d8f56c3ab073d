/**
 * Non-interference, property style (issue 13): a patient token's answers must
 * not depend on other patients' data. Two databases hold the same record of
 * patient "pm", written with the same ids in the same order; one also holds
 * two other patients, with records that point at pm's and that pm's points
 * at. A seeded random mix of 200 searches (every parameter type, chains,
 * _has, includes with :iterate, sorts, counts, totals, summaries, cursors,
 * batch bundles, reads of others' ids) must get the same answers from both —
 * same status, totals, entries in order, pages — and no answer, header or
 * cursor holds another patient's id or identifier.
 */
import type { LightMyRequestResponse } from 'fastify';
import { beforeAll, expect, test } from 'vitest';
import { fhirJson, useTestApp, type TestApp } from '../support/app.ts';
import { roleToken } from '../support/tokens.ts';

const withOthers = useTestApp({ ownDatabase: true });
const alone = useTestApp({ ownDatabase: true });

const curp = 'urn:oid:2.16.840.1.113883.4.629';
const expediente = 'urn:test:expediente';
const people = {
  m: { id: 'pm', curp: 'MMMM800101HDFXXX01', family: 'Fammm', birthDate: '1980-01-01', gender: 'male' },
  vone: { id: 'pvone', curp: 'VVVA610412MDFXXX02', family: 'Famvone', birthDate: '1961-04-12', gender: 'female' },
  vtwo: { id: 'pvtwo', curp: 'VVVB700230HDFXXX03', family: 'Famvtwo', birthDate: '1970-02-28', gender: 'male' },
};
type Who = keyof typeof people;

/** Everything of one patient's record, in id order (so write order is id order in both databases). */
function record(who: Who): Record<string, unknown>[] {
  const p = people[who];
  const subject = { reference: `Patient/${p.id}` };
  const temp = (n: number, value: number, day: string, extra: Record<string, unknown> = {}) => ({
    resourceType: 'Observation',
    id: `${who}-obs-${n}`,
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '8310-5', display: 'Body temperature' }] },
    subject,
    effectiveDateTime: `2025-${day}T10:00:00Z`,
    performer: [{ reference: 'Practitioner/dr-one' }],
    valueQuantity: { value, unit: 'Cel', system: 'http://unitsofmeasure.org', code: 'Cel' },
    ...extra,
  });
  const links: Record<Who, Record<string, unknown>> = {
    m: { hasMember: [{ reference: 'Observation/vone-obs-1' }] },
    vone: { derivedFrom: [{ reference: 'Observation/m-obs-1' }] },
    vtwo: { derivedFrom: [{ reference: 'Observation/m-obs-2' }], hasMember: [{ reference: 'Observation/m-obs-3' }] },
  };
  return [
    {
      resourceType: 'Condition',
      id: `${who}-cond-1`,
      subject,
      code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10', code: who === 'm' ? 'E11' : 'B24' }], text: who === 'm' ? 'diabetes' : 'VIH' },
      clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
      onsetDateTime: '2020-05-01',
    },
    { resourceType: 'Condition', id: `${who}-cond-2`, subject, code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10', code: 'F32' }] }, onsetDateTime: '2023-01-15' },
    { resourceType: 'Encounter', id: `${who}-enc-1`, status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' }, subject, participant: [{ individual: { reference: 'Practitioner/dr-one' } }], period: { start: '2025-03-01T09:00:00Z' } },
    {
      resourceType: 'MedicationRequest',
      id: `${who}-mr-1`,
      status: 'active',
      intent: 'order',
      subject,
      requester: { reference: 'Practitioner/dr-one' },
      authoredOn: '2025-03-01',
      medicationCodeableConcept: { text: who === 'm' ? 'metformina' : 'tenofovir' },
    },
    temp(1, 36.5, '03-01'),
    temp(2, who === 'm' ? 37.8 : 39.7, '03-02', links[who]),
    temp(3, 36.9, '03-03'),
    {
      resourceType: 'Patient',
      id: p.id,
      identifier: [
        { system: curp, value: p.curp },
        { system: expediente, value: `exp-${who}` },
      ],
      name: [{ family: p.family, given: ['Ana', who] }],
      gender: p.gender,
      birthDate: p.birthDate,
      generalPractitioner: [{ reference: 'Practitioner/dr-one' }],
    },
  ];
}

async function put(app: TestApp, resource: Record<string, unknown>): Promise<void> {
  const res = await app.request({ method: 'PUT', url: `/fhir/${resource.resourceType as string}/${resource.id as string}`, headers: fhirJson, payload: resource });
  expect(res.statusCode, res.body).toBe(201);
}

const shared = [
  { resourceType: 'Practitioner', id: 'dr-one', name: [{ family: 'Lopez' }] },
  { resourceType: 'Organization', id: 'org-one', name: 'Hospital' },
];

beforeAll(async () => {
  for (const app of [withOthers, alone]) {
    for (const r of shared) await put(app, r);
  }
  // pm's record is written in the same order in both; the others' only in one, interleaved.
  const mine = record('m');
  const others = [...record('vone'), ...record('vtwo')];
  for (let i = 0; i < mine.length; i++) {
    for (const r of others.slice(2 * i, 2 * i + 2)) await put(withOthers, r);
    await put(withOthers, mine[i]!);
    await put(alone, mine[i]!);
  }
});

/** Deterministic: the same 200 searches on every run. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const criteria: Record<string, string[]> = {
  Observation: [
    'code=http://loinc.org|8310-5',
    'code:not=http://loinc.org|29463-7',
    'category=vital-signs',
    'value-quantity=gt37',
    'value-quantity=ge39.5|http://unitsofmeasure.org|Cel',
    'value-quantity=lt37',
    'date=ge2025-03-02',
    'date=lt2025-03-03',
    'subject=Patient/pvone',
    'subject=Patient/pm',
    'patient=pvtwo',
    'subject:Patient.identifier=urn:oid:2.16.840.1.113883.4.629|VVVA610412MDFXXX02',
    'subject:Patient.family=Famvtwo',
    'subject:Patient.birthdate=1961-04-12',
    'subject.gender=female',
    'performer:Practitioner.family=Lopez',
    'has-member:Observation.value-quantity=gt39',
    'derived-from:Observation.code=8310-5',
    'code-value-quantity=http://loinc.org|8310-5$gt39',
    '_id=vone-obs-1,m-obs-1,vtwo-obs-2',
    '_id:not=m-obs-1',
    'derived-from:missing=false',
    'has-member:missing=true',
    '_lastUpdated=gt2020-01-01',
    'subject._has:Condition:subject:code=B24',
  ],
  Condition: [
    'code=B24',
    'code=http://hl7.org/fhir/sid/icd-10|F32',
    'code:text=VIH',
    'onset-date=ge2021',
    'subject:Patient.identifier=urn:oid:2.16.840.1.113883.4.629|VVVB700230HDFXXX03',
    'subject:Patient.identifier=urn:test:expediente|exp-vone',
    'patient=pvone,pm',
    'clinical-status=active',
    '_id=vone-cond-1',
  ],
  Patient: [
    'identifier=urn:oid:2.16.840.1.113883.4.629|VVVA610412MDFXXX02',
    'identifier=exp-vtwo',
    'family=Fam',
    'family:exact=Famvone',
    'name:contains=amv',
    'birthdate=lt1975',
    'gender=female',
    '_id=pvone',
    '_has:Condition:subject:code=B24',
    '_has:Observation:subject:value-quantity=gt39',
    '_has:Observation:patient:_has:Observation:has-member:value-quantity=gt37',
    'general-practitioner=Practitioner/dr-one',
  ],
  MedicationRequest: ['status=active', 'subject:Patient.gender=female', 'authoredon=ge2025', 'requester=Practitioner/dr-one', 'patient.identifier=exp-vone'],
  Encounter: ['status=finished', 'date=ge2025', 'subject:Patient.birthdate=1970-02-28', 'participant=Practitioner/dr-one'],
};
const sorts: Record<string, string[]> = {
  Observation: ['date', '-date', 'value-quantity', '-value-quantity', '_id', '-_lastUpdated', 'code,-date'],
  Condition: ['onset-date', '-_id', 'code'],
  Patient: ['birthdate', '-family', '_id'],
  MedicationRequest: ['-authoredon'],
  Encounter: ['date'],
};
const includes = [
  '_include=Observation:subject',
  '_include=Observation:has-member',
  '_include:iterate=Observation:has-member',
  '_revinclude=Observation:derived-from',
  '_revinclude:iterate=Observation:derived-from',
  '_revinclude=Observation:has-member',
  '_include=Observation:performer',
  '_revinclude=Condition:subject',
  '_revinclude=Observation:subject',
  '_include=MedicationRequest:requester',
  '_include=MedicationRequest:subject',
];

function generate(n: number): string[] {
  const random = prng(13);
  const pick = <T,>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const urls: string[] = [];
  const types = Object.keys(criteria);
  for (let i = 0; i < n; i++) {
    const roll = random();
    if (roll < 0.06) {
      // Single reads and histories of others' and own ids.
      const id = pick(['vone-obs-1', 'vtwo-cond-1', 'pvone', 'm-obs-1', 'never-there']);
      const type = id.includes('obs') || id === 'never-there' ? 'Observation' : id.includes('cond') ? 'Condition' : 'Patient';
      urls.push(`${type}/${id}${pick(['', '/_history', '/_history/1'])}`);
      continue;
    }
    if (roll < 0.1) {
      urls.push(`?_type=${pick(['Observation,Condition', 'Patient,Observation', 'Condition'])}&${pick(criteria.Condition!.slice(0, 3))}&_count=${pick(['2', '5'])}`);
      continue;
    }
    if (roll < 0.13) {
      urls.push(`${pick(['Observation', 'Condition', 'Patient'])}/_history?_count=${pick(['2', '10'])}`);
      continue;
    }
    if (roll < 0.22) {
      // Paged walks through pm's own rows: cursors of every sort.
      const type = pick(['Observation', 'Condition']);
      urls.push(`${type}?_count=1&_sort=${pick(sorts[type]!)}${random() < 0.5 ? `&${pick(includes)}` : ''}`);
      continue;
    }
    const type = pick(types);
    const params = new Set<string>();
    const k = random() < 0.7 ? 1 : 2;
    for (let j = 0; j < k; j++) params.add(pick(criteria[type]!));
    if (random() < 0.5) params.add(`_sort=${pick(sorts[type]!)}`);
    if (random() < 0.7) params.add(`_count=${pick(['0', '1', '1', '2'])}`);
    if (random() < 0.3) params.add(`_total=${pick(['accurate', 'estimate', 'none'])}`);
    if (random() < 0.15) params.add(`_summary=${pick(['count', 'true', 'data'])}`);
    if (random() < 0.1) params.add('_elements=subject,code');
    if (random() < 0.4) params.add(pick(includes));
    if (random() < 0.2) params.add(pick(includes));
    urls.push(`${type}?${[...params].join('&')}`);
  }
  return urls;
}

/** An answer as the comparison sees it: what the caller learns, without timestamps and sealed cursors. */
function essence(res: LightMyRequestResponse): unknown {
  let body: any;
  try {
    body = res.json();
  } catch {
    body = res.body;
  }
  const strip = (b: any): unknown => {
    if (!b || typeof b !== 'object') return b;
    if (b.resourceType === 'Bundle') {
      return {
        type: b.type,
        total: b.total,
        links: (b.link ?? []).map((l: any) => l.relation),
        entry: (b.entry ?? []).map((e: any) => ({
          key: e.resource ? `${e.resource.resourceType}/${e.resource.id ?? ''}` : undefined,
          mode: e.search?.mode,
          response: e.response ? { status: e.response.status, outcome: e.response.outcome } : undefined,
          resource: e.resource?.resourceType === 'Bundle' ? strip(e.resource) : e.resource?.resourceType === 'OperationOutcome' ? e.resource : undefined,
        })),
      };
    }
    const { meta: _meta, ...rest } = b;
    return rest;
  };
  return { status: res.statusCode, body: strip(body) };
}

const secrets = ['pvone', 'pvtwo', 'VVVA610412MDFXXX02', 'VVVB700230HDFXXX03', 'exp-vone', 'exp-vtwo', 'Famvone', 'Famvtwo', 'vone-cond', 'vtwo-cond', 'vone-obs-2', 'vtwo-obs', 'vone-mr', 'vtwo-mr', 'vone-enc', 'vtwo-enc', 'tenofovir'];

/** The secrets a request did not name itself (an id the caller sent may be echoed back, e.g. in a 404). */
function unsent(...sent: string[]): string[] {
  return secrets.filter((s) => !sent.some((u) => u.includes(s)));
}

/** What the caller did not send itself: entries, totals, outcomes, headers, and what cursors decode to. */
function revealed(res: LightMyRequestResponse): string {
  const { link, ...rest } = (() => {
    try {
      return res.json();
    } catch {
      return { text: res.body };
    }
  })();
  const cursors = ((link ?? []) as { url: string }[]).map((l) => Buffer.from(new URL(l.url).searchParams.get('_cursor') ?? '', 'base64url').toString('latin1'));
  const { 'x-request-id': _id, date: _date, ...headers } = res.headers;
  return JSON.stringify(rest) + JSON.stringify(headers) + cursors.join(' ');
}

async function ask(app: TestApp, token: string, url: string): Promise<LightMyRequestResponse> {
  return app.request({ method: 'GET', url: `/fhir${url.startsWith('?') ? '' : '/'}${url}`, token });
}

test('200 random searches by a patient token answer as if no other patient existed', async () => {
  const token = await roleToken('patient', { patient: 'pm' }, 'paciente-pm');
  const urls = generate(200);
  let followed = 0;
  let compared = 0;
  let found = 0;
  for (const [n, url] of urls.entries()) {
    const a = await ask(withOthers, token, url);
    const b = await ask(alone, token, url);
    expect(a.statusCode, `${url}: ${a.body}`).toBeLessThan(500);
    expect(essence(a), url).toEqual(essence(b));
    for (const s of unsent(url)) expect(revealed(a), `${url} reveals ${s}`).not.toContain(s);
    compared++;
    if (a.statusCode === 200 && ((a.json().total ?? 0) > 0 || (a.json().entry ?? []).some((e: any) => e.resource?.resourceType !== 'OperationOutcome'))) found++;
    // Follow the pages: every next page is the same too.
    let [pa, pb] = [a, b];
    for (let page = 0; page < 3 && pa.statusCode === 200; page++) {
      const next = (r: LightMyRequestResponse) => (r.json().link ?? []).find((l: { relation: string }) => l.relation === 'next')?.url?.replace('http://localhost:80/fhir', '') as string | undefined;
      const [na, nb] = [next(pa), next(pb)];
      expect(na === undefined, `${url} page ${page}`).toBe(nb === undefined);
      if (!na || !nb) break;
      [pa, pb] = [await withOthers.request({ method: 'GET', url: `/fhir${na}`, token }), await alone.request({ method: 'GET', url: `/fhir${nb}`, token })];
      expect(essence(pa), `${url} page ${page + 1}`).toEqual(essence(pb));
      for (const s of unsent(url)) expect(revealed(pa), `${url} page ${page + 1} reveals ${s}`).not.toContain(s);
      followed++;
    }
    // Every tenth search also goes inside a batch, and as POST _search.
    if (n % 10 === 0 && !url.includes('/')) {
      const batch = { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url } }, { request: { method: 'GET', url: 'Observation/vone-obs-2' } }] };
      const [ba, bb] = await Promise.all([withOthers, alone].map((app) => app.request({ method: 'POST', url: '/fhir', headers: fhirJson, token, payload: batch })));
      expect(essence(ba!), `batch ${url}`).toEqual(essence(bb!));
      for (const s of unsent(url, 'Observation/vone-obs-2')) expect(revealed(ba!), `batch ${url} reveals ${s}`).not.toContain(s);
      const [type, query = ''] = url.split('?');
      if (type) {
        const form = { 'content-type': 'application/x-www-form-urlencoded' };
        const [sa, sb] = await Promise.all([withOthers, alone].map((app) => app.request({ method: 'POST', url: `/fhir/${type}/_search`, headers: form, token, payload: query })));
        expect(essence(sa!), `_search ${url}`).toEqual(essence(sb!));
      }
    }
  }
  expect(compared).toBe(200);
  // The mix really pages and really finds pm's data (the comparison is not between two empty answers).
  expect(followed).toBeGreaterThan(10);
  expect(found).toBeGreaterThan(50);
  const own = await ask(withOthers, token, 'Observation?_count=10');
  expect(own.json().total).toBe(3);
  // And the other patients' data is there for a token that may read it.
  const admin = await withOthers.request({ method: 'GET', url: '/fhir/Observation?value-quantity=gt39' });
  expect(admin.json().total).toBe(2);
}, 300_000);
