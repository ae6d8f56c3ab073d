/**
 * Bulk Data Access IG v2 `_typeFilter`, `_elements` and `includeAssociatedData`
 * through HTTP: each applied for real, what cannot be honoured refused under
 * strict handling and reported in the manifest's error file under lenient,
 * and the token's readable set inside every query (a filter never reaches
 * what the token may not read). The database is shared with other files:
 * every check is bounded by this test's own codes, patients or `_since`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { fhirJson, uniqueTag, useTestApp } from '../support/app.ts';
import { adminToken, roleToken } from '../support/tokens.ts';

const exportDir = await mkdtemp(path.join(os.tmpdir(), 'ecu-test-exports-refine-'));
const t = useTestApp({ exportDir });
afterAll(async () => {
  await rm(exportDir, { recursive: true, force: true });
});

const async = { prefer: 'respond-async', accept: 'application/fhir+json' };
const lenient = { ...async, prefer: 'respond-async, handling=lenient' };
const strict = { ...async, prefer: 'respond-async, handling=strict' };
const relative = (url: string) => url.slice(url.indexOf('/fhir/'));
const system = 'http://example.org/export-test';
/** A `_typeFilter` value as the IG writes it: each query URL-encoded, joined by commas. */
const typeFilter = (...queries: string[]) => queries.map(encodeURIComponent).join(',');

async function create(resource: Record<string, unknown>): Promise<string> {
  const res = await t.request({ method: 'POST', url: `/fhir/${String(resource.resourceType)}`, headers: fhirJson, payload: resource });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}

function observation(patient: string, code: string, status = 'final', extra: Record<string, unknown> = {}) {
  return create({ resourceType: 'Observation', status, code: { coding: [{ system, code }] }, subject: { reference: `Patient/${patient}` }, ...extra });
}

interface Exported {
  resources: Record<string, any>[];
  keys: string[];
  manifest: { output: { type: string; url: string }[]; error: { type: string; url: string }[] };
  /** The issues of the manifest's error file (what lenient handling left out). */
  notes: { code: string; severity: string; expression: string[]; details: { text: string } }[];
}

async function run(url: string, headers: Record<string, string> = async, token = adminToken, body?: unknown): Promise<Exported> {
  const kick = await t.request({ method: body ? 'POST' : 'GET', url, headers: body ? { ...headers, ...fhirJson } : headers, token, ...(body ? { payload: body as Record<string, unknown> } : {}) });
  expect(kick.statusCode, kick.body).toBe(202);
  const status = relative(String(kick.headers['content-location']));
  for (let i = 0; i < 300; i++) {
    const res = await t.request({ method: 'GET', url: status, token });
    if (res.statusCode === 200) {
      const manifest = res.json();
      const resources: Record<string, any>[] = [];
      for (const file of manifest.output as { url: string }[]) {
        const body = (await t.request({ method: 'GET', url: relative(file.url), token })).body;
        for (const line of body.split('\n').filter(Boolean)) resources.push(JSON.parse(line));
      }
      const notes = [];
      for (const file of manifest.error as { url: string }[]) {
        const got = await t.request({ method: 'GET', url: relative(file.url), token });
        expect(got.statusCode).toBe(200);
        for (const line of got.body.split('\n').filter(Boolean)) notes.push(...JSON.parse(line).issue);
      }
      return { resources, keys: resources.map((r) => `${r.resourceType}/${r.id}`), manifest, notes };
    }
    expect(res.statusCode, res.body).toBe(202);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('export did not finish');
}

async function refused(url: string, headers: Record<string, string>, token = adminToken) {
  const res = await t.request({ method: 'GET', url, headers, token });
  return { status: res.statusCode, issue: res.statusCode >= 400 ? res.json().issue[0] : undefined };
}

describe('_typeFilter', () => {
  test('queries of one type are OR-ed, the parameters of one query AND-ed; a type without queries is exported whole', async () => {
    const code = uniqueTag();
    const patient = await create({ resourceType: 'Patient', name: [{ family: code }] });
    const final = await observation(patient, code, 'final');
    const amended = await observation(patient, code, 'amended');
    const preliminary = await observation(patient, code, 'preliminary');
    const otherCode = await observation(patient, uniqueTag(), 'final');
    const filter = typeFilter(`Observation?code=${system}|${code}&status=final`, `Observation?code=${system}|${code}&status=amended`);
    const { keys, resources } = await run(`/fhir/Patient/$export?patient=Patient/${patient}&_type=Patient,Observation&_typeFilter=${filter}`);
    expect(keys.sort()).toEqual([`Observation/${final}`, `Observation/${amended}`, `Patient/${patient}`].sort());
    expect(keys).not.toContain(`Observation/${preliminary}`);
    expect(keys).not.toContain(`Observation/${otherCode}`);
    // Exported as stored: a filter does not subset.
    expect(resources.find((r) => r.id === final)?.meta.tag).toBeUndefined();
  });

  test('by POST: repeated valueString parameters, and a comma inside a query value stays with its query', async () => {
    const code = uniqueTag();
    const patient = await create({ resourceType: 'Patient', name: [{ family: code }] });
    const final = await observation(patient, code, 'final');
    const amended = await observation(patient, code, 'amended');
    await observation(patient, code, 'preliminary');
    const body = {
      resourceType: 'Parameters',
      parameter: [
        { name: '_type', valueString: 'Observation' },
        { name: 'patient', valueReference: { reference: `Patient/${patient}` } },
        { name: '_typeFilter', valueString: `Observation?code=${system}|${code}&status=final,amended` },
      ],
    };
    const { keys } = await run('/fhir/Patient/$export', async, adminToken, body);
    expect(keys.sort()).toEqual([`Observation/${final}`, `Observation/${amended}`].sort());
  });

  test('a filter cannot widen what the token reads: the readable set is inside every query, chains included', async () => {
    const tag = uniqueTag();
    const mine = await create({ resourceType: 'Patient', name: [{ family: `${tag}-mine` }] });
    const other = await create({ resourceType: 'Patient', name: [{ family: `${tag}-other` }] });
    const myObservation = await observation(mine, tag);
    const otherObservation = await observation(other, tag);
    // A patient token asking by _typeFilter for another patient's records gets none of them.
    const patientToken = await roleToken('patient', { patient: mine }, `paciente-${mine}`);
    const byPatient = await run(`/fhir/Patient/$export?_type=Observation&_typeFilter=${typeFilter(`Observation?subject=Patient/${other}`, `Observation?_id=${otherObservation}`)}`, async, patientToken);
    expect(byPatient.keys).toEqual([]);
    // Observations readable system-wide, Patients only in the token patient's compartment: a chain through Patient
    // cannot find observations by the name of a patient the token may not read.
    const mixed = await roleToken('institution', { scope: 'system/Observation.rs patient/Patient.rs', patient: mine }, `mixed-${tag}`);
    const url = (family: string) => `/fhir/$export?_type=Observation&_typeFilter=${typeFilter(`Observation?code=${system}|${tag}&subject:Patient.name=${family}`)}`;
    expect((await run(url(`${tag}-mine`), async, mixed)).keys).toEqual([`Observation/${myObservation}`]);
    expect((await run(url(`${tag}-other`), async, mixed)).keys).toEqual([]);
    // The same search by an unrestricted token finds it: the filter itself is right.
    expect((await run(url(`${tag}-other`))).keys).toEqual([`Observation/${otherObservation}`]);
    // A type the token may not read, or may not search through, is a 403.
    const observationsOnly = await roleToken('institution', { scope: 'system/Observation.rs' }, `obs-${tag}`);
    expect(await refused(`/fhir/$export?_typeFilter=${typeFilter('Patient?gender=male')}`, async, observationsOnly)).toMatchObject({ status: 403, issue: { expression: ['_typeFilter'] } });
    expect((await refused(`/fhir/$export?_type=Observation&_typeFilter=${typeFilter('Observation?subject:Patient.name=x')}`, async, observationsOnly)).status).toBe(403);
  });

  test('malformed queries are a 400; an unknown parameter is a 400 under strict handling, and under lenient is left out (more, never fewer, resources) and reported', async () => {
    for (const bad of ['Observation', 'Nope?x=1', 'Observation?_sort=date', 'Observation?date=notadate', 'Condition?clinical-status=active']) {
      expect(await refused(`/fhir/$export?_type=Observation&_typeFilter=${typeFilter(bad)}`, async), bad).toMatchObject({ status: 400, issue: { expression: ['_typeFilter'] } });
    }
    const code = uniqueTag();
    const patient = await create({ resourceType: 'Patient', name: [{ family: code }] });
    const final = await observation(patient, code, 'final');
    const preliminary = await observation(patient, code, 'preliminary');
    const filter = typeFilter(`Observation?code=${system}|${code}&nonsense=1&status=final`);
    for (const headers of [strict, async]) {
      expect(await refused(`/fhir/Patient/$export?patient=Patient/${patient}&_type=Observation&_typeFilter=${filter}`, headers)).toMatchObject({ status: 400, issue: { code: 'not-supported', expression: ['_typeFilter'] } });
    }
    const { keys, manifest, notes } = await run(`/fhir/Patient/$export?patient=Patient/${patient}&_type=Observation&_typeFilter=${filter}`, lenient);
    expect(keys).toEqual([`Observation/${final}`]);
    expect(keys).not.toContain(`Observation/${preliminary}`);
    expect(manifest.error).toHaveLength(1);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({ severity: 'warning', code: 'not-supported', expression: ['_typeFilter'] });
    expect(notes[0]?.details.text).toContain('nonsense');
  });
});

describe('_elements', () => {
  test('only the listed elements, the mandatory ones, id and meta, tagged SUBSETTED; per type or for every type that has it', async () => {
    const tag = uniqueTag();
    const patient = await create({ resourceType: 'Patient', name: [{ family: tag }], gender: 'female', birthDate: '1980-01-01' });
    const obs = await observation(patient, tag, 'final', { valueQuantity: { value: 72, unit: 'kg' }, note: [{ text: 'x' }] });
    const { resources } = await run(`/fhir/Patient/$export?patient=Patient/${patient}&_type=Patient,Observation&_elements=Patient.name,status,valueQuantity`);
    const p = resources.find((r) => r.id === patient)!;
    const o = resources.find((r) => r.id === obs)!;
    expect(Object.keys(p).sort()).toEqual(['id', 'meta', 'name', 'resourceType']);
    // Observation: status and value asked (unqualified), code mandatory; subject and note left out.
    expect(Object.keys(o).sort()).toEqual(['code', 'id', 'meta', 'resourceType', 'status', 'valueQuantity']);
    for (const r of [p, o]) {
      expect(r.meta.tag).toContainEqual({ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' });
      expect(r.meta.versionId).toBe('1');
    }
    // The group-membership pattern of the IG: _type=Patient&_elements=id.
    const ids = await run(`/fhir/Patient/$export?patient=Patient/${patient}&_type=Patient&_elements=id`);
    expect(ids.resources.map((r) => Object.keys(r).sort())).toEqual([['id', 'meta', 'resourceType']]);
    // What is stored is unchanged.
    const read = (await t.request({ method: 'GET', url: `/fhir/Observation/${obs}` })).json();
    expect(read.note).toEqual([{ text: 'x' }]);
    expect(read.meta.tag).toBeUndefined();
  });

  test('an entry that is not a root element of an exported type: 400 under strict handling; under lenient left out and reported', async () => {
    const tag = uniqueTag();
    const patient = await create({ resourceType: 'Patient', name: [{ family: tag }], gender: 'male' });
    for (const bad of ['Patient.name.given', 'Patient.nope', 'Nope.id', 'Observation.status', 'nothere']) {
      expect(await refused(`/fhir/Patient/$export?patient=Patient/${patient}&_type=Patient&_elements=${bad}`, async), bad).toMatchObject({ status: 400, issue: { code: 'not-supported', expression: ['_elements'] } });
    }
    const { resources, notes } = await run(`/fhir/Patient/$export?patient=Patient/${patient}&_type=Patient&_elements=gender,Patient.nope`, lenient);
    expect(Object.keys(resources[0]!).sort()).toEqual(['gender', 'id', 'meta', 'resourceType']);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({ code: 'not-supported', expression: ['_elements'] });
    expect(notes[0]?.details.text).toContain('nope');
  });
});

describe('includeAssociatedData', () => {
  async function scenario() {
    const tag = uniqueTag();
    const patient = await create({ resourceType: 'Patient', name: [{ family: tag }] });
    const o1 = await observation(patient, tag);
    const o2 = await observation(patient, tag);
    const elsewhere = await observation(await create({ resourceType: 'Patient', name: [{ family: `${tag}-x` }] }), tag);
    const provenance = (targets: string[], recorded: string) => create({ resourceType: 'Provenance', target: targets.map((reference) => ({ reference })), recorded, agent: [{ who: { display: 'Dra. López' } }] });
    return {
      patient,
      o1,
      o2,
      p1: await provenance([`Observation/${o1}`], '2026-01-01T10:00:00Z'),
      p2: await provenance([`Observation/${o1}`], '2026-02-01T10:00:00Z'),
      p3: await provenance([`Observation/${o2}`], '2026-01-15T10:00:00Z'),
      // The latest for o2 and for the patient; in the patient's compartment (it targets the Patient).
      p5: await provenance([`Observation/${o2}`, `Patient/${patient}`], '2026-03-01T10:00:00Z'),
      // Of a resource the export does not hold.
      p4: await provenance([`Observation/${elsewhere}`], '2026-04-01T10:00:00Z'),
    };
  }

  test('LatestProvenanceResources: the most recent Provenance of each exported resource; Relevant: all of them; none of resources not exported', async () => {
    const s = await scenario();
    const url = (value: string) => `/fhir/Patient/$export?patient=Patient/${s.patient}&_type=Patient,Observation&includeAssociatedData=${value}`;
    const latest = await run(url('LatestProvenanceResources'));
    expect(latest.keys.sort()).toEqual([`Patient/${s.patient}`, `Observation/${s.o1}`, `Observation/${s.o2}`, `Provenance/${s.p2}`, `Provenance/${s.p5}`].sort());
    expect(latest.manifest.output.filter((o) => o.type === 'Provenance')).toHaveLength(1);
    const relevant = await run(url('RelevantProvenanceResources'));
    expect(relevant.keys.filter((k) => k.startsWith('Provenance/')).sort()).toEqual([s.p1, s.p2, s.p3, s.p5].map((id) => `Provenance/${id}`).sort());
    // Both values: the larger set.
    const both = await run(url('LatestProvenanceResources,RelevantProvenanceResources'));
    expect(both.keys.sort()).toEqual(relevant.keys.sort());
    // Without the parameter: no Provenance (none is in the compartment's types asked for).
    expect((await run(url('').replace('&includeAssociatedData=', ''))).keys.some((k) => k.startsWith('Provenance/'))).toBe(false);
  });

  test('without a provenance value, a Patient-level export with Provenance among its types holds every Provenance of what it exports (the IG), not only those in the compartment', async () => {
    const s = await scenario();
    for (const types of ['&_type=Observation,Provenance', '']) {
      const { keys } = await run(`/fhir/Patient/$export?patient=Patient/${s.patient}${types}`);
      const provenance = keys.filter((k) => k.startsWith('Provenance/'));
      expect(provenance.sort(), types).toEqual([s.p1, s.p2, s.p3, s.p5].map((id) => `Provenance/${id}`).sort());
      expect(new Set(keys).size).toBe(keys.length);
    }
  });

  test('only Provenance the token may read: a patient token gets those in its compartment, never another’s latest', async () => {
    const s = await scenario();
    const token = await roleToken('patient', { patient: s.patient }, `paciente-${s.patient}`);
    for (const value of ['LatestProvenanceResources', 'RelevantProvenanceResources']) {
      const { keys } = await run(`/fhir/Patient/$export?_type=Patient,Observation&includeAssociatedData=${value}`, async, token);
      expect(keys.filter((k) => k.startsWith('Provenance/')), value).toEqual([`Provenance/${s.p5}`]);
    }
    const noProvenance = await roleToken('institution', { scope: 'system/Observation.rs' }, `obs-${uniqueTag()}`);
    expect(await refused('/fhir/$export?_type=Observation&includeAssociatedData=LatestProvenanceResources', async, noProvenance)).toMatchObject({ status: 403, issue: { expression: ['includeAssociatedData'] } });
  });

  test('an unsupported value: 400 under strict handling; under lenient, the rest applies and the value is reported', async () => {
    const s = await scenario();
    for (const headers of [strict, async]) {
      expect(await refused(`/fhir/Patient/$export?patient=Patient/${s.patient}&includeAssociatedData=_myPreset`, headers)).toMatchObject({ status: 400, issue: { code: 'not-supported', expression: ['includeAssociatedData'] } });
    }
    const { keys, notes } = await run(`/fhir/Patient/$export?patient=Patient/${s.patient}&_type=Observation&includeAssociatedData=_myPreset,LatestProvenanceResources`, lenient);
    expect(keys.filter((k) => k.startsWith('Provenance/')).sort()).toEqual([`Provenance/${s.p2}`, `Provenance/${s.p5}`].sort());
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({ code: 'not-supported', expression: ['includeAssociatedData'] });
    expect(notes[0]?.details.text).toContain('_myPreset');
  });
});
