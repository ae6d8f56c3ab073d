/**
 * Productivity statistics over a known synthetic week (Mon 30 Nov – Sun
 * 6 Dec 2026, ISO week 2026-W49), on a database of its own so national
 * counts are exact: consultations across three units of two levels and
 * three specialties (plus what must not count: unfinished, other classes,
 * outside the week, deleted), four referrals with known turnaround (the
 * server's clock is moved between steps), imaging studies on named scanners.
 */
import type { AuditEvent, Bundle, CapabilityStatement, Encounter, ImagingStudy, Measure, MeasureReport, MeasureReportGroup, Resource } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, test } from 'vitest';
import { fhirJson, useTestApp } from '../support/app.ts';
import { contrarreferencia, moveTask, put, referral, type ReferralWorld, referralWorld, sendReferral } from '../support/referral.ts';
import { roleToken } from '../support/tokens.ts';

let now = new Date('2026-11-30T15:00:00Z');
const t = useTestApp({ ownDatabase: true, telemedicineConsent: 'off', clock: () => now });
let w: ReferralWorld;
let auditor: string;

const base = 'https://ecu-fhir.org/fhir';
const internal = { system: 'http://snomed.info/sct', code: '419192003', display: 'Medicina interna' };
const cardio = { system: 'http://snomed.info/sct', code: '394579002', display: 'Cardiología' };
const derma = { system: 'http://snomed.info/sct', code: '394582007', display: 'Dermatología' };
const act = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const day = 86_400_000;
const referralIds: string[] = [];

async function must(r: Resource, token?: string): Promise<string> {
  const res = r.id ? await put(t, r, token) : await t.request({ method: 'POST', url: `/fhir/${r.resourceType}`, headers: fhirJson, payload: r, token });
  if (res.statusCode >= 300) throw new Error(`${r.resourceType}: ${res.statusCode} ${res.body}`);
  return (res.json() as Resource).id ?? '';
}

function encounter(org: string, classCode: string, start: string, specialty?: { system: string; code: string; display: string }, status: Encounter['status'] = 'finished', basedOn?: string): Encounter {
  return {
    resourceType: 'Encounter',
    status,
    class: { system: act, code: classCode },
    subject: { reference: `Patient/${w.patientId}` },
    serviceProvider: { reference: `Organization/${org}` },
    period: { start, end: start },
    ...(specialty ? { serviceType: { coding: [specialty] } } : {}),
    ...(basedOn ? { basedOn: [{ reference: `ServiceRequest/${basedOn}` }] } : {}),
  };
}

const relacionSystem = 'https://ecu-fhir.org/fhir/CodeSystem/relacion-temporal';
function typed(e: Encounter, relacion: 'primera-vez' | 'subsecuente'): Encounter {
  return { ...e, type: [{ coding: [{ system: relacionSystem, code: relacion, display: relacion === 'primera-vez' ? 'Primera vez' : 'Subsecuente' }] }] };
}

function study(device: string, modality: string, started: string, status: ImagingStudy['status'] = 'available'): ImagingStudy {
  return {
    resourceType: 'ImagingStudy',
    status,
    subject: { reference: `Patient/${w.patientId}` },
    started,
    series: [{ uid: `1.2.840.${Math.floor(Math.random() * 1e9)}`, modality: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: modality }, performer: [{ actor: { reference: `Device/${device}` } }] }],
  };
}

async function sendAndComplete(folio: string, afterDays: number | undefined): Promise<void> {
  now = new Date('2026-11-30T15:00:00Z');
  const sent = await sendReferral(t, w, referral(w, folio, (sr) => (sr.authoredOn = '2026-11-30T09:00:00-06:00')));
  if (sent.statusCode !== 200) throw new Error(sent.body);
  const srId = /ServiceRequest\/([^/]+)/.exec((sent.json() as Bundle).entry?.[1]?.response?.location ?? '')?.[1] ?? '';
  referralIds.push(srId);
  const move = async (change: Parameters<typeof moveTask>[3]) => {
    const res = await moveTask(t, srId, w.cmn.doctor, change);
    if (res.statusCode !== 200) throw new Error(res.body);
  };
  await move((x) => (x.status = 'received'));
  now = new Date(now.getTime() + day / 2);
  await move((x) => (x.status = 'accepted'));
  if (afterDays === undefined) return;
  await move((x) => (x.status = 'in-progress'));
  now = new Date(Date.parse('2026-11-30T15:00:00Z') + afterDays * day);
  const noteId = `contra-${folio}`;
  await must(contrarreferencia(w, noteId), w.cmn.doctor);
  await move((x) => {
    x.status = 'completed';
    x.output = [{ type: { text: 'Contrarreferencia' }, valueReference: { reference: `Composition/${noteId}` } }];
  });
}

beforeAll(async () => {
  w = await referralWorld(t);
  auditor = await roleToken('auditor', {}, 'auditor-nacional');
  // Referrals sent on 30 Nov, completed after 2, 3 and 5 days; one still accepted.
  await sendAndComplete('MED-1', 2);
  await sendAndComplete('MED-2', 5);
  await sendAndComplete('MED-3', 3);
  await sendAndComplete('MED-4', undefined);
  now = new Date('2026-12-08T12:00:00Z');

  const { umf, cmn, outside } = w;
  // First-time (primera vez) or follow-up (subsecuente), as an Encounter.type coding; the last one has another type only.
  const counted = [
    typed(encounter(umf.id, 'AMB', '2026-11-30T15:00:00Z', internal), 'primera-vez'),
    typed(encounter(umf.id, 'AMB', '2026-11-30T16:00:00Z', internal), 'subsecuente'),
    typed(encounter(umf.id, 'AMB', '2026-11-30T17:00:00Z', internal), 'subsecuente'),
    typed(encounter(umf.id, 'AMB', '2026-12-02T15:00:00Z', derma), 'primera-vez'),
    typed(encounter(cmn.id, 'AMB', '2026-12-01T15:00:00Z', cardio), 'primera-vez'),
    typed(encounter(cmn.id, 'AMB', '2026-12-01T18:00:00Z', cardio), 'subsecuente'),
    typed(encounter(cmn.id, 'VR', '2026-12-03T16:00:00Z', cardio, 'finished', referralIds[0]), 'subsecuente'),
    { ...encounter(outside.id, 'AMB', '2026-12-06T23:30:00Z'), type: [{ coding: [{ system: 'http://snomed.info/sct', code: '11429006', display: 'Consultation' }] }] },
  ];
  const notCounted = [
    typed(encounter(umf.id, 'AMB', '2026-12-02T16:00:00Z', internal, 'in-progress'), 'primera-vez'),
    encounter(umf.id, 'AMB', '2026-12-07T01:00:00Z', internal),
    encounter(umf.id, 'AMB', '2026-11-29T23:59:00Z', internal),
    encounter(umf.id, 'EMER', '2026-12-01T15:00:00Z', internal),
  ];
  for (const e of [...counted, ...notCounted]) await must(e);
  const deleted = await must(encounter(umf.id, 'AMB', '2026-12-01T10:00:00Z', internal));
  expect((await t.request({ method: "DELETE", url: `/fhir/Encounter/${deleted}` })).statusCode).toBe(200);

  // Hospital stays (class IMP: no consultation) with their procedures.
  const stayCmn = await must(encounter(cmn.id, 'IMP', '2026-12-01T08:00:00Z'));
  const stayUmf = await must(encounter(umf.id, 'IMP', '2026-12-03T08:00:00Z'));
  const kidney = { system: 'http://snomed.info/sct', code: '70536003', display: 'Trasplante de riñón' };
  const appendix = { system: 'http://snomed.info/sct', code: '80146002', display: 'Apendicectomía' };
  const procedure = (enc: string, code: typeof kidney, performed: string, status: 'completed' | 'in-progress' = 'completed') =>
    ({ resourceType: 'Procedure' as const, status, code: { coding: [code] }, subject: { reference: `Patient/${w.patientId}` }, encounter: { reference: `Encounter/${enc}` }, performedDateTime: performed });
  for (const p of [
    procedure(stayCmn, kidney, '2026-12-02T10:00:00Z'),
    procedure(stayCmn, kidney, '2026-12-04T10:00:00Z'),
    procedure(stayUmf, appendix, '2026-12-03T12:00:00Z'),
    procedure(stayCmn, kidney, '2026-12-05T10:00:00Z', 'in-progress'),
    procedure(stayCmn, kidney, '2026-12-08T10:00:00Z'),
  ]) {
    await must(p);
  }

  const device = (id: string, owner: string, name: string) => ({ resourceType: 'Device' as const, id, owner: { reference: `Organization/${owner}` }, deviceName: [{ name, type: 'user-friendly-name' as const }] });
  await must(device(`tc256-${w.tag}`, cmn.id, 'Tomógrafo de 256 cortes'));
  await must(device(`rm-${w.tag}`, cmn.id, 'Resonador 3T'));
  await must(device(`tc-fuera-${w.tag}`, outside.id, 'Tomógrafo de 64 cortes'));
  for (const s of [
    study(`tc256-${w.tag}`, 'CT', '2026-12-01T10:00:00Z'),
    study(`tc256-${w.tag}`, 'CT', '2026-12-02T10:00:00Z'),
    study(`rm-${w.tag}`, 'MR', '2026-12-03T10:00:00Z'),
    study(`tc-fuera-${w.tag}`, 'CT', '2026-12-04T10:00:00Z'),
    study(`tc256-${w.tag}`, 'CT', '2026-12-02T11:00:00Z', 'cancelled'),
    study(`tc256-${w.tag}`, 'CT', '2026-11-29T10:00:00Z'),
  ]) {
    await must(s);
  }
}, 120_000);

const week = 'periodStart=2026-11-30&periodEnd=2026-12-06';

async function evaluate(url: string, token = auditor): Promise<MeasureReport> {
  const res = await t.request({ method: 'GET', url, token });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as MeasureReport;
}

/** A stratifier's strata as "code(s) = count", in the report's order. */
function strata(group: MeasureReportGroup | undefined, code: string): string[] {
  const s = group?.stratifier?.find((x) => x.code?.[0]?.coding?.[0]?.code === code);
  if (!s) throw new Error(`no stratifier ${code}`);
  return (s.stratum ?? []).map((x) => {
    const value = x.value ? (x.value.coding?.[0]?.code ?? '') : (x.component ?? []).map((c) => c.value.coding?.[0]?.code ?? '').join('+');
    return `${value}=${x.population?.[0]?.count ?? '?'}${x.measureScore ? ` ~${x.measureScore.value ?? ''}` : ''}`;
  });
}

describe('built-in Measures', () => {
  test('built-in ones read-only (others stored as sent), listed in the CapabilityStatement, searchable by url', async () => {
    const m = await t.request({ method: 'GET', url: '/fhir/Measure/consultas', token: auditor });
    expect(m.statusCode).toBe(200);
    expect(m.json() as Measure).toMatchObject({ resourceType: 'Measure', url: `${base}/Measure/consultas`, status: 'active' });
    const found = await t.request({ method: 'GET', url: `/fhir/Measure?url=${base}/Measure/referencias`, token: auditor });
    expect(((found.json() as Bundle).entry ?? []).map((e) => e.resource?.id)).toEqual(['referencias']);
    expect((await t.request({ method: 'GET', url: '/fhir/Measure/otra', token: auditor })).statusCode).toBe(404);
    const write = await t.request({ method: 'PUT', url: '/fhir/Measure/consultas', headers: fhirJson, payload: m.json() });
    expect(write.statusCode).toBe(405);
    expect((await t.request({ method: 'POST', url: '/fhir/Measure', headers: fhirJson, payload: m.json() })).statusCode).toBe(405);
    // A Measure of the client's own (another id, another canonical) is an ordinary resource, stored as sent.
    const own = { resourceType: 'Measure', id: 'medida-propia', url: 'https://example.org/Measure/medida-propia', status: 'draft' };
    expect((await t.request({ method: 'PUT', url: '/fhir/Measure/medida-propia', headers: fhirJson, payload: own })).statusCode).toBe(201);
    const ownRead = await t.request({ method: 'GET', url: '/fhir/Measure/medida-propia', token: auditor });
    expect(ownRead.statusCode).toBe(200);
    expect(ownRead.json()).toMatchObject(own);
    const meta = (await t.request({ method: 'GET', url: '/fhir/metadata' })).json() as CapabilityStatement;
    const measure = meta.rest?.[0]?.resource?.find((r) => r.type === 'Measure');
    expect(measure?.operation?.map((o) => o.name)).toContain('evaluate-measure');
    expect(measure?.documentation).toContain(`${base}/Measure/estudios-imagen`);
    expect(measure?.interaction?.map((i) => i.code).sort()).toEqual(['create', 'delete', 'patch', 'read', 'search-type', 'update']);
  });
});

describe('consultas', () => {
  test('every count and stratum of the week', async () => {
    const r = await evaluate(`/fhir/Measure/consultas/$evaluate-measure?${week}&reportType=population`);
    expect(r).toMatchObject({ resourceType: 'MeasureReport', type: 'summary', status: 'complete', measure: `${base}/Measure/consultas`, period: { start: '2026-11-30', end: '2026-12-06' } });
    const g = r.group?.[0];
    expect(g?.population?.[0]?.count).toBe(8);
    const { umf, cmn, outside } = w;
    expect(strata(g, 'unidad')).toEqual([`${umf.clues}=4`, `${cmn.clues}=3`, `${outside.clues}=1`]);
    expect(strata(g, 'nivel')).toEqual(['1=5', '3=3']);
    expect(strata(g, 'especialidad')).toEqual(['394579002=3', '419192003=3', '394582007=1', 'sin-dato=1']);
    expect(strata(g, 'unidad-especialidad')).toEqual([`${umf.clues}+419192003=3`, `${cmn.clues}+394579002=3`, `${umf.clues}+394582007=1`, `${outside.clues}+sin-dato=1`]);
    expect(strata(g, 'clase')).toEqual(['AMB=7', 'VR=1']);
    expect(strata(g, 'dia')).toEqual(['2026-11-30=3', '2026-12-01=2', '2026-12-02=1', '2026-12-03=1', '2026-12-06=1']);
    expect(strata(g, 'semana')).toEqual(['2026-W49=8']);
    expect(strata(g, 'mes')).toEqual(['2026-12=5', '2026-11=3']);
    // Spanish displays: the unit's name, the specialty's Spanish name, the level.
    const unidad = g?.stratifier?.find((s) => s.code?.[0]?.coding?.[0]?.code === 'unidad');
    expect(unidad?.stratum?.[0]?.value?.text).toBe(`Unidad de Medicina Familiar Pichucalco (ISSSTE) (${umf.clues})`);
    const nivel = g?.stratifier?.find((s) => s.code?.[0]?.coding?.[0]?.code === 'nivel');
    expect(nivel?.stratum?.[0]?.value?.text).toBe('Primer nivel');
    const esp = g?.stratifier?.find((s) => s.code?.[0]?.coding?.[0]?.code === 'especialidad');
    expect(esp?.stratum?.map((s) => s.value?.text)).toEqual(['Cardiología', 'Medicina interna', 'Dermatología', 'Sin dato']);
  });

  test('first-time (primera vez) and follow-up (subsecuente) consultations, as recorded in Encounter.type', async () => {
    const r = await evaluate(`/fhir/Measure/consultas/$evaluate-measure?${week}&stratifier=relacion-temporal,unidad-relacion-temporal,especialidad-relacion-temporal`);
    const g = r.group?.[0];
    expect(g?.population?.[0]?.count).toBe(8);
    // The in-progress first-time one does not count; a type of another system is no answer ("Sin dato").
    expect(strata(g, 'relacion-temporal')).toEqual(['subsecuente=4', 'primera-vez=3', 'sin-dato=1']);
    const relacion = g?.stratifier?.find((s) => s.code?.[0]?.coding?.[0]?.code === 'relacion-temporal');
    expect(relacion?.stratum?.map((s) => s.value?.text)).toEqual(['Subsecuente', 'Primera vez', 'Sin dato']);
    expect(relacion?.stratum?.[0]?.value?.coding?.[0]?.system).toBe(relacionSystem);
    const { umf, cmn, outside } = w;
    expect(strata(g, 'unidad-relacion-temporal').sort()).toEqual(
      [`${umf.clues}+primera-vez=2`, `${umf.clues}+subsecuente=2`, `${cmn.clues}+subsecuente=2`, `${cmn.clues}+primera-vez=1`, `${outside.clues}+sin-dato=1`].sort(),
    );
    expect(strata(g, 'unidad-relacion-temporal').slice(-2).map((x) => x.split('=')[1])).toEqual(['1', '1']);
    expect(strata(g, 'especialidad-relacion-temporal')).toEqual(['394579002+subsecuente=2', '419192003+subsecuente=2', '394579002+primera-vez=1', '394582007+primera-vez=1', '419192003+primera-vez=1', 'sin-dato+sin-dato=1']);
    const tele = await evaluate(`/fhir/Measure/teleconsultas/$evaluate-measure?${week}&stratifier=relacion-temporal`);
    expect(strata(tele.group?.[0], 'relacion-temporal')).toEqual(['subsecuente=1']);
    // The code system is published.
    const cs = await t.request({ method: 'GET', url: '/fhir/CodeSystem/relacion-temporal', token: auditor });
    expect(cs.statusCode).toBe(200);
    expect(cs.json().concept.map((c: { code: string }) => c.code)).toEqual(['primera-vez', 'subsecuente']);
    // CSV: the same strata, Spanish labels.
    const csv = await t.request({ method: 'GET', url: `/fhir/Measure/consultas/$evaluate-measure?${week}&stratifier=relacion-temporal`, token: auditor, headers: { accept: 'text/csv' } });
    expect(csv.body).toContain(`${base}/Measure/consultas,2026-11-30,2026-12-06,Consultas otorgadas,Primera vez o subsecuente,Primera vez,primera-vez,3,,`);
  });

  test('by measure URL, stratifier selection, subject, and POST with Parameters give the same numbers', async () => {
    const url = `${base}/Measure/consultas`;
    const byUrl = await evaluate(`/fhir/Measure/$evaluate-measure?measure=${url}&${week}&stratifier=nivel`);
    expect(byUrl.group?.[0]?.stratifier?.map((s) => s.code?.[0]?.coding?.[0]?.code)).toEqual(['nivel']);
    expect(strata(byUrl.group?.[0], 'nivel')).toEqual(['1=5', '3=3']);
    const subject = await evaluate(`/fhir/Measure/consultas/$evaluate-measure?${week}&subject=Organization/${w.cmn.id}&stratifier=especialidad`);
    expect(subject.subject).toEqual({ reference: `Organization/${w.cmn.id}` });
    expect(subject.group?.[0]?.population?.[0]?.count).toBe(3);
    expect(strata(subject.group?.[0], 'especialidad')).toEqual(['394579002=3']);
    const posted = await t.request({
      method: 'POST',
      url: '/fhir/Measure/$evaluate-measure',
      headers: fhirJson,
      token: auditor,
      payload: {
        resourceType: 'Parameters',
        parameter: [
          { name: 'measure', valueCanonical: url },
          { name: 'periodStart', valueDate: '2026-11-30' },
          { name: 'periodEnd', valueDate: '2026-12-06' },
          { name: 'reportType', valueCode: 'population' },
          { name: 'stratifier', valueString: 'unidad' },
        ],
      },
    });
    expect(posted.statusCode, posted.body).toBe(200);
    expect(strata((posted.json() as MeasureReport).group?.[0], 'unidad')).toEqual([`${w.umf.clues}=4`, `${w.cmn.clues}=3`, `${w.outside.clues}=1`]);
    // One day only.
    const oneDay = await evaluate(`/fhir/Measure/consultas/$evaluate-measure?periodStart=2026-12-01&periodEnd=2026-12-01&stratifier=unidad`);
    expect(oneDay.group?.[0]?.population?.[0]?.count).toBe(2);
  });

  test('a unit-level token counts its unit only; roles and scopes are enforced; each run is audited', async () => {
    const unitAuditor = await roleToken('auditor', { clues: w.umf.clues }, 'auditor-umf');
    const r = await evaluate(`/fhir/Measure/consultas/$evaluate-measure?${week}&stratifier=unidad,especialidad`, unitAuditor);
    expect(r.group?.[0]?.population?.[0]?.count).toBe(4);
    expect(strata(r.group?.[0], 'unidad')).toEqual([`${w.umf.clues}=4`]);
    expect(strata(r.group?.[0], 'especialidad')).toEqual(['419192003=3', '394582007=1']);
    // Another unit as subject: refused, not an empty report.
    const other = await t.request({ method: 'GET', url: `/fhir/Measure/consultas/$evaluate-measure?${week}&subject=Organization/${w.cmn.id}`, token: unitAuditor });
    expect(other.statusCode).toBe(403);
    expect(other.json().issue[0].expression).toEqual(['subject']);
    // A unit administrator (admin with CLUES) likewise.
    const unitAdmin = await roleToken('admin', { clues: w.cmn.clues }, 'admin-cmn');
    expect((await evaluate(`/fhir/Measure/consultas/$evaluate-measure?${week}&stratifier=unidad`, unitAdmin)).group?.[0]?.population?.[0]?.count).toBe(3);
    // Clinicians do not run measures; an auditor whose scopes exclude Encounter cannot count them.
    expect((await t.request({ method: 'GET', url: `/fhir/Measure/consultas/$evaluate-measure?${week}`, token: w.umf.doctor })).statusCode).toBe(403);
    const narrow = await roleToken('auditor', { scope: 'user/Task.rs user/Organization.rs' }, 'auditor-tareas');
    expect((await t.request({ method: 'GET', url: `/fhir/Measure/consultas/$evaluate-measure?${week}`, token: narrow })).statusCode).toBe(403);
    expect((await t.request({ method: 'GET', url: `/fhir/Measure/referencias/$evaluate-measure?${week}&stratifier=estado`, token: narrow })).statusCode).toBe(200);
    // Unit names come from Organizations: a token that may not read them sees the CLUES alone.
    const unitName = async (token: string) => (await evaluate(`/fhir/Measure/referencias/$evaluate-measure?${week}&stratifier=unidad-receptora`, token)).group?.[0]?.stratifier?.[0]?.stratum?.[0]?.value?.text;
    expect(await unitName(narrow)).toBe(`Centro Médico Nacional 20 de Noviembre (ISSSTE) (${w.cmn.clues})`);
    expect(await unitName(await roleToken('auditor', { scope: 'user/Task.rs' }, 'auditor-solo-tareas'))).toBe(w.cmn.clues);
    // Audited: one AuditEvent per run, naming the measure and who ran it.
    const audit = await t.request({ method: 'GET', url: '/fhir/AuditEvent?entity=Measure/consultas&_count=100', token: auditor });
    const events = ((audit.json() as Bundle<AuditEvent>).entry ?? []).map((e) => e.resource!);
    expect(events.some((e) => JSON.stringify(e.agent).includes('auditor-umf'))).toBe(true);
    expect(events.filter((e) => JSON.stringify(e.agent).includes('auditor-umf')).length).toBe(2);
  });

  test('client mistakes are 400 OperationOutcomes naming the parameter', async () => {
    const cases: [string, string][] = [
      ['/fhir/Measure/consultas/$evaluate-measure?periodStart=2026-11-30', 'periodEnd'],
      ['/fhir/Measure/consultas/$evaluate-measure?periodStart=2026-13-30&periodEnd=2026-12-06', 'periodStart'],
      [`/fhir/Measure/consultas/$evaluate-measure?${week}&reportType=subject`, 'reportType'],
      [`/fhir/Measure/consultas/$evaluate-measure?${week}&stratifier=color`, 'stratifier'],
      [`/fhir/Measure/consultas/$evaluate-measure?${week}&subject=Patient/1`, 'subject'],
      [`/fhir/Measure/$evaluate-measure?${week}`, 'measure'],
      [`/fhir/Measure/consultas/$evaluate-measure?${week}&foo=1`, 'foo'],
      ['/fhir/Measure/consultas/$evaluate-measure?periodStart=2026-12-06&periodEnd=2026-11-30', 'periodEnd'],
    ];
    for (const [url, expression] of cases) {
      const res = await t.request({ method: 'GET', url, token: auditor });
      expect(res.statusCode, url).toBe(400);
      expect(res.json().resourceType).toBe('OperationOutcome');
      expect(res.json().issue[0].expression, url).toEqual([expression]);
    }
    expect((await t.request({ method: 'GET', url: `/fhir/Measure/$evaluate-measure?${week}&measure=${base}/Measure/nada`, token: auditor })).statusCode).toBe(404);
  });

  test('CSV: one row per stratum, with the total', async () => {
    const res = await t.request({ method: 'GET', url: `/fhir/Measure/consultas/$evaluate-measure?${week}&stratifier=unidad-especialidad`, token: auditor, headers: { accept: 'text/csv' } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    const lines = res.body.replace(/^\uFEFF/, '').trim().split('\r\n');
    expect(lines[0]).toBe('medida,periodo_inicio,periodo_fin,grupo,estratificador,valor,codigo,conteo,mediana_dias,p90_dias');
    expect(lines.length).toBe(1 + 1 + 4);
    expect(lines[1]).toBe(`${base}/Measure/consultas,2026-11-30,2026-12-06,Consultas otorgadas,total,Total,,8,,`);
    expect(lines).toContain(`${base}/Measure/consultas,2026-11-30,2026-12-06,Consultas otorgadas,Unidad y especialidad,Centro Médico Nacional 20 de Noviembre (ISSSTE) (${w.cmn.clues}) | Cardiología,${w.cmn.clues} | 394579002,3,,`);
    // JSON is still what other routes answer to text/csv: 406.
    expect((await t.request({ method: 'GET', url: '/fhir/Encounter', token: auditor, headers: { accept: 'text/csv' } })).statusCode).toBe(406);
  });
});

describe('teleconsultas, referencias, estudios-imagen', () => {
  test('telemedicine consultations by receiving and referring unit', async () => {
    const r = await evaluate(`/fhir/Measure/teleconsultas/$evaluate-measure?${week}`);
    expect(r.group?.[0]?.population?.[0]?.count).toBe(1);
    expect(strata(r.group?.[0], 'unidad-receptora')).toEqual([`${w.cmn.clues}=1`]);
    expect(strata(r.group?.[0], 'unidad-referente')).toEqual([`${w.umf.clues}=1`]);
    // The referring unit sees the consultation it referred.
    const umf = await roleToken('auditor', { clues: w.umf.clues }, 'auditor-umf-2');
    expect((await evaluate(`/fhir/Measure/teleconsultas/$evaluate-measure?${week}&stratifier=unidad-receptora`, umf)).group?.[0]?.population?.[0]?.count).toBe(1);
    const outside = await roleToken('auditor', { clues: w.outside.clues }, 'auditor-fuera');
    expect((await evaluate(`/fhir/Measure/teleconsultas/$evaluate-measure?${week}`, outside)).group?.[0]?.population?.[0]?.count).toBe(0);
  });

  test('referrals by status and unit, turnaround median and p90 from Task history', async () => {
    const r = await evaluate(`/fhir/Measure/referencias/$evaluate-measure?${week}&stratifier=estado,unidad-receptora,especialidad`);
    const [all, turnaround] = r.group ?? [];
    expect(all?.population?.[0]?.count).toBe(4);
    expect(strata(all, 'estado')).toEqual(['completed=3', 'accepted=1']);
    expect(strata(all, 'unidad-receptora')).toEqual([`${w.cmn.clues}=4`]);
    expect(strata(all, 'especialidad')).toEqual(['394579002=4']);
    // Completed after 2, 5 and 3 days: median 3, p90 (linear interpolation) 4.6.
    expect(turnaround?.population?.[0]?.count).toBe(3);
    expect(turnaround?.measureScore).toEqual({ value: 3, unit: 'días', system: 'http://unitsofmeasure.org', code: 'd' });
    expect(turnaround?.extension?.[0]?.valueQuantity?.value).toBe(4.6);
    expect(strata(turnaround, 'estado')).toEqual(['completed=3 ~3', 'accepted=0']);
    const esp = all?.stratifier?.find((s) => s.code?.[0]?.coding?.[0]?.code === 'estado');
    expect(esp?.stratum?.map((s) => s.value?.text)).toEqual(['Concluida', 'Aceptada']);
    // Referrals registered the week before: none.
    expect((await evaluate('/fhir/Measure/referencias/$evaluate-measure?periodStart=2026-11-23&periodEnd=2026-11-29')).group?.[0]?.population?.[0]?.count).toBe(0);
  });

  test('imaging studies by unit, modality and scanner', async () => {
    const r = await evaluate(`/fhir/Measure/estudios-imagen/$evaluate-measure?${week}`);
    const g = r.group?.[0];
    expect(g?.population?.[0]?.count).toBe(4);
    expect(strata(g, 'unidad')).toEqual([`${w.cmn.clues}=3`, `${w.outside.clues}=1`]);
    expect(strata(g, 'modalidad')).toEqual(['CT=3', 'MR=1']);
    expect(strata(g, 'equipo')).toEqual([`tc256-${w.tag}=2`, `rm-${w.tag}=1`, `tc-fuera-${w.tag}=1`]);
    const equipo = g?.stratifier?.find((s) => s.code?.[0]?.coding?.[0]?.code === 'equipo');
    expect(equipo?.stratum?.[0]?.value?.text).toBe(`Tomógrafo de 256 cortes (Device/tc256-${w.tag})`);
    const modal = g?.stratifier?.find((s) => s.code?.[0]?.coding?.[0]?.code === 'modalidad');
    expect(modal?.stratum?.map((s) => s.value?.text)).toEqual(['Tomografía computarizada', 'Resonancia magnética']);
    const umf = await roleToken('auditor', { clues: w.umf.clues }, 'auditor-umf-3');
    expect((await evaluate(`/fhir/Measure/estudios-imagen/$evaluate-measure?${week}`, umf)).group?.[0]?.population?.[0]?.count).toBe(0);
  });

  test('procedures by code (transplants) and unit', async () => {
    const r = await evaluate(`/fhir/Measure/procedimientos/$evaluate-measure?${week}`);
    const g = r.group?.[0];
    expect(g?.population?.[0]?.count).toBe(3);
    expect(strata(g, 'procedimiento')).toEqual(['70536003=2', '80146002=1']);
    expect(strata(g, 'unidad')).toEqual([`${w.cmn.clues}=2`, `${w.umf.clues}=1`]);
    expect(strata(g, 'unidad-procedimiento')).toEqual([`${w.cmn.clues}+70536003=2`, `${w.umf.clues}+80146002=1`]);
    const proc = g?.stratifier?.find((s) => s.code?.[0]?.coding?.[0]?.code === 'procedimiento');
    expect(proc?.stratum?.map((s) => s.value?.text)).toEqual(['Trasplante de riñón', 'Apendicectomía']);
    const cmn = await roleToken('auditor', { clues: w.cmn.clues }, 'auditor-cmn');
    expect(strata((await evaluate(`/fhir/Measure/procedimientos/$evaluate-measure?${week}&stratifier=procedimiento`, cmn)).group?.[0], 'procedimiento')).toEqual(['70536003=2']);
  });
});

describe('counts never use what the caller may not read', () => {
  test('the measured type only in a patient compartment: refused, not a national count', async () => {
    const token = await roleToken('auditor', { scope: 'patient/Encounter.rs user/Organization.rs', patient: w.patientId }, 'auditor-compartimento');
    const res = await t.request({ method: 'GET', url: `/fhir/Measure/consultas/$evaluate-measure?${week}`, token });
    expect(res.statusCode, res.body).toBe(403);
    expect(res.json().resourceType).toBe('OperationOutcome');
  });

  test('units of consultations come from Organizations: without them, "Sin dato", and a unit token counts none', async () => {
    const token = await roleToken('auditor', { scope: 'user/Encounter.rs' }, 'auditor-sin-unidades');
    const r = await evaluate(`/fhir/Measure/consultas/$evaluate-measure?${week}&stratifier=unidad,nivel,especialidad`, token);
    expect(r.group?.[0]?.population?.[0]?.count).toBe(8);
    expect(strata(r.group?.[0], 'unidad')).toEqual(['sin-dato=8']);
    expect(strata(r.group?.[0], 'nivel')).toEqual(['sin-dato=8']);
    expect(strata(r.group?.[0], 'especialidad')).toEqual(['394579002=3', '419192003=3', '394582007=1', 'sin-dato=1']);
    const unit = await roleToken('auditor', { scope: 'user/Encounter.rs', clues: w.umf.clues }, 'sin-unidades-umf');
    expect((await evaluate(`/fhir/Measure/consultas/$evaluate-measure?${week}&stratifier=unidad`, unit)).group?.[0]?.population?.[0]?.count).toBe(0);
  });

  test('the referring unit of a teleconsultation comes from its ServiceRequest', async () => {
    const token = await roleToken('auditor', { scope: 'user/Encounter.rs user/Organization.rs' }, 'auditor-sin-solicitudes');
    const r = await evaluate(`/fhir/Measure/teleconsultas/$evaluate-measure?${week}`, token);
    expect(strata(r.group?.[0], 'unidad-receptora')).toEqual([`${w.cmn.clues}=1`]);
    expect(strata(r.group?.[0], 'unidad-referente')).toEqual(['sin-dato=1']);
    // The referring unit's token counted it through the referral (test above); without ServiceRequest it cannot.
    const umf = await roleToken('auditor', { scope: 'user/Encounter.rs user/Organization.rs', clues: w.umf.clues }, 'sin-solicitudes-umf');
    expect((await evaluate(`/fhir/Measure/teleconsultas/$evaluate-measure?${week}`, umf)).group?.[0]?.population?.[0]?.count).toBe(0);
  });

  test('a scanner\'s unit comes from its Device: without Device, the studies count but their unit is unknown', async () => {
    const token = await roleToken('auditor', { scope: 'user/ImagingStudy.rs user/Organization.rs' }, 'auditor-sin-equipos');
    const r = await evaluate(`/fhir/Measure/estudios-imagen/$evaluate-measure?${week}`, token);
    const g = r.group?.[0];
    expect(g?.population?.[0]?.count).toBe(4);
    expect(strata(g, 'unidad')).toEqual(['sin-dato=4']);
    // The scanner a study names is the study's own data; the Device's name is not shown.
    expect(strata(g, 'equipo')).toEqual([`tc256-${w.tag}=2`, `rm-${w.tag}=1`, `tc-fuera-${w.tag}=1`]);
    const equipo = g?.stratifier?.find((s) => s.code?.[0]?.coding?.[0]?.code === 'equipo');
    expect(equipo?.stratum?.[0]?.value?.text).toBe(`tc256-${w.tag}`);
    const cmn = await roleToken('auditor', { scope: 'user/ImagingStudy.rs user/Organization.rs', clues: w.cmn.clues }, 'auditor-cmn-sin-equipos');
    expect((await evaluate(`/fhir/Measure/estudios-imagen/$evaluate-measure?${week}`, cmn)).group?.[0]?.population?.[0]?.count).toBe(0);
    const withDevices = await roleToken('auditor', { scope: 'user/ImagingStudy.rs user/Organization.rs user/Device.rs', clues: w.cmn.clues }, 'auditor-cmn-equipos');
    expect((await evaluate(`/fhir/Measure/estudios-imagen/$evaluate-measure?${week}`, withDevices)).group?.[0]?.population?.[0]?.count).toBe(3);
  });

  test('a procedure\'s unit comes from its Encounter', async () => {
    const token = await roleToken('auditor', { scope: 'user/Procedure.rs user/Organization.rs' }, 'auditor-sin-encuentros');
    const r = await evaluate(`/fhir/Measure/procedimientos/$evaluate-measure?${week}&stratifier=procedimiento,unidad`, token);
    expect(r.group?.[0]?.population?.[0]?.count).toBe(3);
    expect(strata(r.group?.[0], 'procedimiento')).toEqual(['70536003=2', '80146002=1']);
    expect(strata(r.group?.[0], 'unidad')).toEqual(['sin-dato=3']);
  });

  test('turnaround reads the referral Task\'s own history: a Task-only token gets the same figures', async () => {
    const token = await roleToken('auditor', { scope: 'user/Task.rs' }, 'auditor-solo-tareas-2');
    const r = await evaluate(`/fhir/Measure/referencias/$evaluate-measure?${week}&stratifier=estado`, token);
    expect(r.group?.[1]?.population?.[0]?.count).toBe(3);
    expect(r.group?.[1]?.measureScore?.value).toBe(3);
  });
});
