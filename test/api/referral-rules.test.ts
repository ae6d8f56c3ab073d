/** The referral's rules over HTTP: who may move its Task and how, what a referral must say, the network, folios. */
import type { Bundle, OperationOutcome, ServiceRequest, Task } from '@medplum/fhirtypes';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { fhirJson, uniqueTag, useTestApp } from '../support/app.ts';
import { contrarreferencia, dermatology, moveTask, put, referral, type ReferralWorld, referralWorld, sendReferral, taskOf } from '../support/referral.ts';
import { roleToken } from '../support/tokens.ts';

const t = useTestApp({ profileEnforcement: 'strict' });
let w: ReferralWorld;
let db: pg.Client;

beforeAll(async () => {
  w = await referralWorld(t);
  db = new pg.Client({ connectionString: inject('databaseUrl') });
  await db.connect();
});
afterAll(async () => {
  await db.end();
});

const text = (res: { json(): unknown }) => ((res.json() as OperationOutcome).issue ?? []).map((i) => i.details?.text ?? '').join(' ');
const expressions = (res: { json(): unknown }) => ((res.json() as OperationOutcome).issue ?? []).flatMap((i) => i.expression ?? []);

/** A fresh referral sent by the UMF; returns its ServiceRequest id. */
async function sent(change?: (sr: ServiceRequest) => void): Promise<string> {
  const res = await sendReferral(t, w, referral(w, uniqueTag(), change));
  if (res.statusCode !== 200) throw new Error(res.body);
  return /ServiceRequest\/([^/]+)/.exec((res.json() as Bundle).entry?.[1]?.response?.location ?? '')?.[1] ?? '';
}

const to = (status: string) => (x: { status: string }) => void (x.status = status);
const reason = (status: string) => (x: { status: string; statusReason?: unknown }) => {
  x.status = status;
  x.statusReason = { text: 'Motivo' };
};

describe('moving the Task', () => {
  test('the referring side cannot receive, accept or complete: 409 listing what is allowed and by whom', async () => {
    const sr = await sent();
    const res = await moveTask(t, sr, w.umf.doctor, to('received'));
    expect(res.statusCode).toBe(409);
    expect(expressions(res)).toEqual(['Task.status']);
    expect(text(res)).toMatch(/no puede pasar de requested a received\. Solo la unidad receptora \(Task.owner\) puede hacerlo\. Desde requested se permite: received \(la unidad receptora/);
    expect(text(res)).toMatch(/cancelled \(la unidad que refiere \(Task.requester\)\)/);
    expect((await moveTask(t, sr, w.cmn.doctor, to('received'))).statusCode).toBe(200);
    expect((await moveTask(t, sr, w.umf.doctor, to('accepted'))).statusCode).toBe(409);
    expect((await taskOf(t, sr)).task.status).toBe('received');
  });

  test('skipping steps is 409 for anyone: requested → accepted, requested → completed, received → in-progress', async () => {
    const sr = await sent();
    for (const status of ['accepted', 'in-progress', 'completed', 'on-hold', 'failed']) {
      const res = await moveTask(t, sr, w.cmn.doctor, to(status));
      expect(res.statusCode, status).toBe(409);
      expect(text(res)).toMatch(new RegExp(`de requested a ${status}`));
    }
    await moveTask(t, sr, w.cmn.doctor, to('received'));
    expect((await moveTask(t, sr, w.cmn.doctor, to('in-progress'))).statusCode).toBe(409);
    expect((await moveTask(t, sr, w.cmn.doctor, to('completed'))).statusCode).toBe(409);
  });

  test('only the referring side cancels, and only before completion; a final status allows nothing', async () => {
    const sr = await sent();
    await moveTask(t, sr, w.cmn.doctor, to('received'));
    const byReceiver = await moveTask(t, sr, w.cmn.doctor, to('cancelled'));
    expect(byReceiver.statusCode).toBe(409);
    expect(text(byReceiver)).toMatch(/Solo la unidad que refiere \(Task.requester\) puede hacerlo/);
    expect((await moveTask(t, sr, w.umf.doctor, reason('cancelled'))).statusCode).toBe(200);
    for (const [status, token] of [['received', w.cmn.doctor], ['requested', w.umf.doctor], ['in-progress', w.cmn.doctor]] as const) {
      const res = await moveTask(t, sr, token, to(status));
      expect(res.statusCode).toBe(409);
      expect(text(res)).toMatch(/Desde cancelled se permite: ninguna: es un estado final/);
    }
  });

  test('reject and fail need statusReason (422); with it they are final', async () => {
    const sr = await sent();
    const bare = await moveTask(t, sr, w.cmn.doctor, to('rejected'));
    expect(bare.statusCode).toBe(422);
    expect(expressions(bare)).toEqual(['Task.statusReason']);
    expect((await moveTask(t, sr, w.cmn.doctor, reason('rejected'))).statusCode).toBe(200);
    expect((await moveTask(t, sr, w.umf.doctor, to('cancelled'))).statusCode).toBe(409);

    const other = await sent();
    await moveTask(t, other, w.cmn.doctor, to('received'));
    await moveTask(t, other, w.cmn.doctor, to('accepted'));
    expect((await moveTask(t, other, w.cmn.doctor, to('failed'))).statusCode).toBe(422);
    expect((await moveTask(t, other, w.cmn.doctor, reason('failed'))).statusCode).toBe(200);
  });

  test('on-hold returns only to the status it came from', async () => {
    const sr = await sent();
    await moveTask(t, sr, w.cmn.doctor, to('received'));
    await moveTask(t, sr, w.cmn.doctor, to('accepted'));
    expect((await moveTask(t, sr, w.umf.doctor, to('on-hold'))).statusCode).toBe(409);
    expect((await moveTask(t, sr, w.cmn.doctor, to('on-hold'))).statusCode).toBe(200);
    const wrong = await moveTask(t, sr, w.cmn.doctor, to('in-progress'));
    expect(wrong.statusCode).toBe(409);
    expect(text(wrong)).toMatch(/Desde on-hold se permite: accepted \(la unidad receptora/);
    expect((await moveTask(t, sr, w.cmn.doctor, to('accepted'))).statusCode).toBe(200);
    expect((await moveTask(t, sr, w.cmn.doctor, to('in-progress'))).statusCode).toBe(200);
  });

  test('completing needs a contrarreferencia Composition of this patient (422 otherwise)', async () => {
    const sr = await sent();
    for (const s of ['received', 'accepted', 'in-progress']) await moveTask(t, sr, w.cmn.doctor, to(s));
    const missing = await moveTask(t, sr, w.cmn.doctor, (x) => {
      x.status = 'completed';
      x.output = [{ type: { text: 'Contrarreferencia' }, valueReference: { reference: 'Composition/no-existe' } }];
    });
    expect(missing.statusCode).toBe(422);
    expect(expressions(missing)).toEqual(['Task.output']);
    expect(text(missing)).toMatch(/no es una contrarreferencia de este paciente/);
  });

  test('the contrarreferencia is checked as the completer may read it: one it cannot read is not there (422, same answer as none)', async () => {
    const noteId = `contra-lectura-${uniqueTag()}`;
    expect((await put(t, contrarreferencia(w, noteId), w.cmn.doctor)).statusCode).toBe(201);
    // A receiving clinician whose token moves Tasks but reads no Composition.
    const blind = await roleToken('clinician', { clues: w.cmn.clues, fhirUser: `Practitioner/${w.cmn.practitionerId}`, scope: 'user/Task.cruds user/ServiceRequest.rs' }, `ciego-${w.tag}`);
    const sr = await sent();
    for (const s of ['received', 'accepted', 'in-progress']) expect((await moveTask(t, sr, w.cmn.doctor, to(s))).statusCode).toBe(200);
    const complete = (id: string) => (x: Task) => {
      x.status = 'completed';
      x.output = [{ type: { text: 'Contrarreferencia' }, valueReference: { reference: `Composition/${id}` } }];
    };
    const unreadable = await moveTask(t, sr, blind, complete(noteId));
    const absent = await moveTask(t, sr, blind, complete('no-existe'));
    expect(unreadable.statusCode, unreadable.body).toBe(422);
    expect(text(unreadable)).toBe(text(absent).replaceAll('no-existe', noteId));
    expect((await moveTask(t, sr, w.cmn.doctor, complete(noteId))).statusCode).toBe(200);
  });
});

describe('who may write the Task', () => {
  test('a unit that is neither side: 403; a patient token: 403; an admin of another unit: 403', async () => {
    const sr = await sent();
    const outsider = await moveTask(t, sr, w.outside.doctor, to('received'));
    expect(outsider.statusCode).toBe(403);
    expect(text(outsider)).toMatch(/Solo las unidades de la referencia escriben su tarea/);
    expect((await moveTask(t, sr, w.patientToken, to('cancelled'))).statusCode).toBe(403);
    expect((await moveTask(t, sr, await roleToken('admin', { clues: 'DFIMS000011' }, 'otro-admin'), to('received'))).statusCode).toBe(403);
    expect((await moveTask(t, sr, await roleToken('clinician', {}, 'sin-unidad'), to('received'))).statusCode).toBe(403);
    expect((await taskOf(t, sr)).task.status).toBe('requested');
  });

  test('an institution client acts for its unit', async () => {
    const sr = await sent();
    const cmnInterface = await roleToken('institution', { clues: w.cmn.clues }, `his-${w.tag}`);
    expect((await moveTask(t, sr, cmnInterface, to('received'))).statusCode).toBe(200);
  });

  test('the referring side adds notes, inputs and information-sent; nothing else (403 naming the element)', async () => {
    const sr = await sent();
    const ok = await moveTask(t, sr, w.umf.doctor, (x) => {
      x.note = [{ text: 'Se anexan estudios de laboratorio' }];
      x.input = [{ type: { text: 'Estudios' }, valueReference: { reference: `DocumentReference/resumen-${w.tag}` } }];
      x.businessStatus = { coding: [{ system: 'https://ecu-fhir.org/fhir/CodeSystem/estado-referencia', code: 'information-sent' }] };
    });
    expect(ok.statusCode, ok.body).toBe(200);
    const priority = await moveTask(t, sr, w.umf.doctor, (x) => (x.priority = 'stat'));
    expect(priority.statusCode).toBe(403);
    expect(expressions(priority)).toEqual(['Task.priority']);
    const scheduled = await moveTask(t, sr, w.umf.doctor, (x) => (x.businessStatus = { coding: [{ system: 'https://ecu-fhir.org/fhir/CodeSystem/estado-referencia', code: 'visit-scheduled' }] }));
    expect(scheduled.statusCode).toBe(403);
    expect(expressions(scheduled)).toEqual(['Task.businessStatus']);
    const awaiting = await moveTask(t, sr, w.umf.doctor, (x) => (x.businessStatus = { coding: [{ system: 'https://ecu-fhir.org/fhir/CodeSystem/estado-referencia', code: 'awaiting-information' }] }));
    expect(awaiting.statusCode).toBe(403);
  });

  test('nobody changes owner, patient or focus (422); the Task is never deleted (409)', async () => {
    const sr = await sent();
    const moved = await moveTask(t, sr, w.cmn.doctor, (x) => (x.owner = { reference: `Organization/${w.outside.id}` }));
    expect(moved.statusCode).toBe(422);
    expect(expressions(moved)).toEqual(['Task.owner']);
    const { task } = await taskOf(t, sr);
    expect((await t.request({ method: 'DELETE', url: `/fhir/Task/${task.id ?? ''}`, token: w.cmn.doctor, headers: { 'if-match': `W/"${task.meta?.versionId ?? ''}"` } })).statusCode).toBe(409);
    expect((await t.request({ method: 'DELETE', url: `/fhir/ServiceRequest/${sr}`, token: w.umf.doctor })).statusCode).toBe(409);
  });

  test('updates need If-Match (428 without, 412 when stale); PATCH too', async () => {
    const sr = await sent();
    const { task } = await taskOf(t, sr);
    const blind = await put(t, { ...task, status: 'received' }, w.cmn.doctor);
    expect(blind.statusCode).toBe(428);
    expect(expressions(blind)).toEqual(['If-Match']);
    expect((await put(t, { ...task, status: 'received' }, w.cmn.doctor, { 'if-match': 'W/"7"' })).statusCode).toBe(412);
    const patch = [{ op: 'replace', path: '/status', value: 'received' }];
    expect((await t.request({ method: 'PATCH', url: `/fhir/Task/${task.id ?? ''}`, headers: { 'content-type': 'application/json-patch+json' }, payload: patch, token: w.cmn.doctor })).statusCode).toBe(428);
    const patched = await t.request({ method: 'PATCH', url: `/fhir/Task/${task.id ?? ''}`, headers: { 'content-type': 'application/json-patch+json', 'if-match': `W/"${task.meta?.versionId ?? ''}"` }, payload: patch, token: w.cmn.doctor });
    expect(patched.statusCode, patched.body).toBe(200);
    // Tasks that are not a referral's keep the ordinary rules.
    const plain = await t.request({ method: 'POST', url: '/fhir/Task', headers: fhirJson, payload: { resourceType: 'Task', status: 'requested', intent: 'order' } });
    expect((await put(t, { ...(plain.json() as Task), status: 'completed' })).statusCode).toBe(200);
  });

  test('service-type finds a unit\'s Tasks and referrals by specialty', async () => {
    const sr = await sent();
    const { task } = await taskOf(t, sr);
    const cardio = encodeURIComponent('http://snomed.info/sct|394579002');
    const tasks = ((await t.request({ method: 'GET', url: `/fhir/Task?owner=Organization/${w.cmn.id}&service-type=${cardio}&_count=1000`, token: w.cmn.doctor })).json() as Bundle).entry ?? [];
    expect(tasks.map((e) => e.resource?.id)).toContain(task.id);
    const derma = encodeURIComponent('http://snomed.info/sct|394582007');
    expect(((await t.request({ method: 'GET', url: `/fhir/Task?owner=Organization/${w.cmn.id}&service-type=${derma}`, token: w.cmn.doctor })).json() as Bundle).entry ?? []).toEqual([]);
    const requests = ((await t.request({ method: 'GET', url: `/fhir/ServiceRequest?service-type=${cardio}&_id=${sr}`, token: w.cmn.doctor })).json() as Bundle).entry ?? [];
    expect(requests.map((e) => e.resource?.id)).toEqual([sr]);
  });

  test('the worklist sorted by priority and date pages with the right total, none with _total=none', async () => {
    await sent();
    await sent((sr) => (sr.priority = 'stat'));
    const get = async (q: string) => (await t.request({ method: 'GET', url: `/fhir/Task?owner=Organization/${w.cmn.id}${q}`, token: w.cmn.doctor })).json() as Bundle<Task>;
    const all = await get('&_count=1000');
    expect(all.total).toBeGreaterThan(2);
    const first = await get('&_sort=-priority,authored-on&_count=2');
    expect(first.total).toBe(all.total);
    // By urgency, not alphabetically: stat before urgent.
    expect(first.entry?.map((e) => e.resource?.priority)).toEqual(['stat', 'urgent']);
    const next = first.link?.find((l) => l.relation === 'next')?.url ?? '';
    const second = (await t.request({ method: 'GET', url: next.replace(/^https?:\/\/[^/]+/, ''), token: w.cmn.doctor })).json() as Bundle<Task>;
    expect(second.total).toBe(all.total);
    expect((await get('&_sort=-priority&_total=none')).total).toBeUndefined();
  });

  test('the open worklists (owner or requester + status, one combined index row per pair) follow every move of the Task', async () => {
    const [a, b, c] = [await sent(), await sent(), await sent()];
    await moveTask(t, a, w.cmn.doctor, to('received'));
    await moveTask(t, b, w.cmn.doctor, reason('rejected'));
    const ids = async (q: string, token: string) => (((await t.request({ method: 'GET', url: `/fhir/Task?${q}&_count=1000`, token })).json() as Bundle<Task>).entry ?? []).map((e) => e.resource!);
    const open = 'status=requested,received,accepted,in-progress';
    for (const [side, token] of [[`owner=Organization/${w.cmn.id}`, w.cmn.doctor], [`requester=Organization/${w.umf.id}`, w.umf.doctor]] as const) {
      const everyTask = await ids(side, token);
      const expected = everyTask.filter((x) => ['requested', 'received', 'accepted', 'in-progress'].includes(x.status)).map((x) => x.id).sort();
      const bundle = (await t.request({ method: 'GET', url: `/fhir/Task?${side}&${open}&_count=1000`, token })).json() as Bundle<Task>;
      expect((bundle.entry ?? []).map((e) => e.resource!.id).sort(), side).toEqual(expected);
      expect(bundle.total).toBe(expected.length);
      const mine = await Promise.all([a, b, c].map(async (sr) => (await taskOf(t, sr)).task.id));
      expect(expected).toContain(mine[0]);
      expect(expected).not.toContain(mine[1]);
      expect(expected).toContain(mine[2]);
      expect((await ids(`${side}&status=rejected`, token)).map((x) => x.id)).toContain(mine[1]);
    }
  });

  test('a referral has exactly one Task: another Task claiming it is 409', async () => {
    const sr = await sent();
    const res = await t.request({
      method: 'POST',
      url: '/fhir/Task',
      headers: fhirJson,
      token: w.cmn.doctor,
      payload: { resourceType: 'Task', status: 'requested', intent: 'order', code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }] }, focus: { reference: `ServiceRequest/${sr}` } },
    });
    expect(res.statusCode).toBe(409);
    expect(expressions(res)).toEqual(['Task.focus']);
  });
});

describe('the referral', () => {
  test('a referral missing what mx-referencia asks for: 422, one issue per element', async () => {
    const res = await t.request({
      method: 'POST',
      url: '/fhir/ServiceRequest',
      headers: fhirJson,
      token: w.umf.doctor,
      payload: { resourceType: 'ServiceRequest', status: 'active', intent: 'plan', subject: { reference: `Patient/${w.patientId}` }, category: [{ coding: [{ system: 'http://snomed.info/sct', code: '3457005' }] }] },
    });
    expect(res.statusCode).toBe(422);
    expect(expressions(res)).toEqual([
      'ServiceRequest.intent',
      'ServiceRequest.requester',
      'ServiceRequest.performer',
      'ServiceRequest.performerType',
      'ServiceRequest.priority',
      "ServiceRequest.extension.where(url='https://ecu-fhir.org/fhir/StructureDefinition/mx-modalidad-atencion')",
      'ServiceRequest.reasonCode',
      'ServiceRequest.supportingInfo',
      'ServiceRequest.identifier',
    ]);
  });

  test('outside the network: a unit without affiliation (performer), a specialty not agreed (performerType), not offered by telemedicine (modality): 422', async () => {
    const outsider = referral(w, uniqueTag(), (sr) => {
      sr.identifier = [{ system: `https://ecu-fhir.org/fhir/sid/referencia/${w.outside.clues}`, value: uniqueTag() }];
      sr.requester = { reference: `PractitionerRole/${w.outside.roleId}` };
    });
    const a = await sendReferral(t, w, outsider, w.outside.doctor);
    expect(a.statusCode).toBe(422);
    expect(expressions(a)).toEqual(['Bundle.entry[1]', 'Bundle.entry[1].resource.performer']);
    expect(text(a)).toMatch(/Fuera de la red: Centro Médico Nacional 20 de Noviembre \(ISSSTE\) no recibe referencias de Clínica de Medicina Familiar fuera de la red/);

    const psychiatry = await sendReferral(t, w, referral(w, uniqueTag(), (sr) => (sr.performerType = { coding: [{ system: 'http://snomed.info/sct', code: '394587001', display: 'Psiquiatría' }] })));
    expect(psychiatry.statusCode).toBe(422);
    expect(expressions(psychiatry)).toEqual(['Bundle.entry[1]', 'Bundle.entry[1].resource.performerType']);

    // Dermatology is agreed in the affiliation, but the CMN publishes no HealthcareService for it.
    const derma = await sendReferral(t, w, referral(w, uniqueTag(), (sr) => (sr.performerType = { coding: [dermatology] })));
    expect(derma.statusCode).toBe(422);
    expect(text(derma)).toMatch(/no ofrece Dermatología/);

    await put(t, { resourceType: 'HealthcareService', id: `derma-${w.tag}`, active: true, providedBy: { reference: `Organization/${w.cmn.id}` }, specialty: [{ coding: [dermatology] }] });
    const virtual = await sendReferral(t, w, referral(w, uniqueTag(), (sr) => (sr.performerType = { coding: [dermatology] })));
    expect(virtual.statusCode).toBe(422);
    expect(expressions(virtual)).toEqual(['Bundle.entry[1]', "Bundle.entry[1].resource.extension.where(url='https://ecu-fhir.org/fhir/StructureDefinition/mx-modalidad-atencion')"]);
    const inPerson = await sendReferral(t, w, referral(w, uniqueTag(), (sr) => {
      sr.performerType = { coding: [dermatology] };
      sr.extension = [{ url: 'https://ecu-fhir.org/fhir/StructureDefinition/mx-modalidad-atencion', valueCoding: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' } }];
    }));
    expect(inPerson.statusCode, inPerson.body).toBe(200);
    expect(await rows(`SELECT count(*)::int AS n FROM referral WHERE requester_org = $1`, [w.outside.id])).toEqual([{ n: 0 }]);
  });

  test('a referral only its own unit sends: a clinician of another unit is 403; the folio names the referring unit', async () => {
    expect((await sendReferral(t, w, referral(w), w.cmn.doctor)).statusCode).toBe(403);
    const foreignFolio = await sendReferral(t, w, referral(w, uniqueTag(), (sr) => (sr.identifier = [{ system: `https://ecu-fhir.org/fhir/sid/referencia/${w.cmn.clues}`, value: 'X1' }])));
    expect(foreignFolio.statusCode).toBe(422);
    expect(expressions(foreignFolio)).toEqual(['Bundle.entry[1]', 'Bundle.entry[1].resource.identifier']);
  });

  test('resending the same folio: with If-None-Exist it finds the first; without it 409; never a second referral', async () => {
    const folio = uniqueTag();
    const first = await sendReferral(t, w, referral(w, folio));
    expect(first.statusCode).toBe(200);
    const plain = await t.request({ method: 'POST', url: '/fhir/ServiceRequest', headers: fhirJson, payload: referral(w, folio), token: w.umf.doctor });
    expect(plain.statusCode).toBe(409);
    expect(expressions(plain)).toEqual(['ServiceRequest.identifier']);
    expect(text(plain)).toMatch(/ya se envió/);
    const resends = await Promise.all(Array.from({ length: 5 }, () => sendReferral(t, w, referral(w, folio))));
    expect(resends.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 200]);
    const system = `https://ecu-fhir.org/fhir/sid/referencia/${w.umf.clues}`;
    expect(await rows('SELECT count(*)::int AS n FROM referral WHERE folio = $1', [`${system}|${folio}`])).toEqual([{ n: 1 }]);
    const found = (await t.request({ method: 'GET', url: `/fhir/ServiceRequest?identifier=${encodeURIComponent(`${system}|${folio}`)}` })).json() as Bundle;
    expect(found.entry).toHaveLength(1);
  });

  test('a referral and its Task are written together or not at all', async () => {
    const folio = uniqueTag();
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: referral(w, folio), request: { method: 'POST', url: 'ServiceRequest' } },
        { resource: { resourceType: 'Observation', status: 'bogus' } as never, request: { method: 'POST', url: 'Observation' } },
      ],
    };
    expect((await t.request({ method: 'POST', url: '/fhir', headers: fhirJson, payload: bundle, token: w.umf.doctor })).statusCode).toBe(400);
    expect(await rows(`SELECT count(*)::int AS n FROM referral WHERE folio LIKE $1`, [`%|${folio}`])).toEqual([{ n: 0 }]);
    expect(await rows(`SELECT count(*)::int AS n FROM resource WHERE resource_type IN ('ServiceRequest', 'Task') AND content LIKE $1`, [`%${folio}%`])).toEqual([{ n: 0 }]);
  });

  test('what names a sent referral does not change (422); its notes may', async () => {
    const sr = await sent();
    const current = (await t.request({ method: 'GET', url: `/fhir/ServiceRequest/${sr}` })).json() as ServiceRequest;
    const moved = await put(t, { ...current, performer: [{ reference: `Organization/${w.outside.id}` }] }, w.umf.doctor);
    expect(moved.statusCode).toBe(422);
    expect(expressions(moved)).toEqual(['ServiceRequest.performer']);
    expect((await put(t, { ...current, note: [{ text: 'Paciente con marcapasos' }] }, w.umf.doctor)).statusCode).toBe(200);
  });
});

async function rows(query: string, params: unknown[]): Promise<unknown[]> {
  return (await db.query(query, params)).rows;
}
