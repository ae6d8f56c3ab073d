/**
 * The seed's example, end to end over HTTP on PostgreSQL: the UMF Pichucalco
 * refers a patient to the CMN 20 de Noviembre for cardiology by telemedicine;
 * the CMN receives, accepts, books a virtual consultation, records it with
 * the patient's consent and completes the referral with its contrarreferencia;
 * the UMF sees the result. Each step is audited.
 */
import type { AuditEvent, Bundle, Composition, Parameters, Task } from '@medplum/fhirtypes';
import { beforeAll, expect, test } from 'vitest';
import { fhirJson, useTestApp } from '../support/app.ts';
import { consent, contrarreferencia, moveTask, put, referral, type ReferralWorld, referralWorld, sendReferral, taskOf } from '../support/referral.ts';
import { roleToken } from '../support/tokens.ts';

const t = useTestApp({ profileEnforcement: 'strict' });
let w: ReferralWorld;

beforeAll(async () => {
  w = await referralWorld(t);
});

const resources = (res: { json(): unknown }) => ((res.json() as Bundle).entry ?? []).map((e) => e.resource!);

test('UMF Pichucalco → CMN 20 de Noviembre, cardiology by telemedicine, from referral to contrarreferencia', async () => {
  // 1. The UMF sends the referral with its clinical summary in one transaction.
  const sent = await sendReferral(t, w, referral(w, 'REF-2026-000117'));
  expect(sent.statusCode, sent.body).toBe(200);
  const entries = (sent.json() as Bundle).entry ?? [];
  expect(entries.map((e) => e.response?.status)).toEqual(['201 Created', '201 Created']);
  const srId = /ServiceRequest\/([^/]+)/.exec(entries[1]?.response?.location ?? '')?.[1] ?? '';

  // The Task appears with it: requested, owner the CMN, requester the UMF, focus the referral.
  const { task } = await taskOf(t, srId, w.cmn.doctor);
  expect(task).toMatchObject({
    status: 'requested',
    intent: 'order',
    priority: 'urgent',
    code: { coding: [{ code: 'fulfill' }] },
    focus: { reference: `ServiceRequest/${srId}` },
    for: { reference: `Patient/${w.patientId}` },
    owner: { reference: `Organization/${w.cmn.id}` },
    requester: { reference: `Organization/${w.umf.id}` },
  });

  // Resending the same folio finds the first referral: no second ServiceRequest, no second Task.
  const again = await sendReferral(t, w, referral(w, 'REF-2026-000117'));
  expect(again.statusCode, again.body).toBe(200);
  expect((again.json() as Bundle).entry?.[1]?.response?.status).toBe('200 OK');
  expect((again.json() as Bundle).entry?.[1]?.response?.location).toMatch(new RegExp(`ServiceRequest/${srId}(/_history/1)?$`));
  await taskOf(t, srId);

  // 2. The CMN's worklist shows it, with the referral and the patient included.
  const worklist = `/fhir/Task?owner=Organization/${w.cmn.id}&status=requested,received,accepted,in-progress&_sort=-priority,authored-on&_include=Task:focus&_include=Task:patient`;
  const open = resources(await t.request({ method: 'GET', url: worklist, token: w.cmn.doctor }));
  expect(open.map((r) => `${r.resourceType}/${r.id}`).sort()).toEqual([`Patient/${w.patientId}`, `ServiceRequest/${srId}`, `Task/${task.id}`].sort());

  // The patient's summaries show the open referral.
  const referencias = async () => {
    const res = await t.request({ method: 'GET', url: `/fhir/Patient/${w.patientId}/$resumen-medico`, token: w.cmn.doctor });
    expect(res.statusCode, res.body).toBe(200);
    return (res.json() as Parameters).parameter?.find((p) => p.name === 'referencias');
  };
  const openOne = (await referencias())?.part?.find((p) => p.name === 'abiertas')?.part?.[0]?.part ?? [];
  expect(openOne.find((p) => p.name === 'tarea')?.valueReference?.reference).toBe(`Task/${task.id}`);
  expect(openOne.find((p) => p.name === 'estado')?.valueCode).toBe('requested');
  expect(openOne.find((p) => p.name === 'unidadReceptora')?.valueString).toBe(`Centro Médico Nacional 20 de Noviembre (ISSSTE) (CLUES ${w.cmn.clues})`);
  const summaryBefore = (await t.request({ method: 'GET', url: `/fhir/Patient/${w.patientId}/$summary`, token: w.cmn.doctor })).json() as Bundle;
  const planOfCare = (summaryBefore.entry?.[0]?.resource as Composition).section?.find((x) => x.code?.coding?.[0]?.code === '18776-5');
  expect(planOfCare?.entry?.map((e) => e.reference)).toEqual([`ServiceRequest/${srId}`]);

  // 3. Received, then accepted, by the CMN (each with If-Match).
  expect((await moveTask(t, srId, w.cmn.doctor, (x) => (x.status = 'received'))).statusCode).toBe(200);
  expect((await moveTask(t, srId, w.cmn.doctor, (x) => (x.status = 'accepted'))).statusCode).toBe(200);

  // 4. A virtual appointment in a Slot of the CMN's cardiology service; the Slot becomes busy.
  const appointment = await t.request({
    method: 'POST',
    url: '/fhir/Appointment',
    headers: fhirJson,
    token: w.cmn.doctor,
    payload: {
      resourceType: 'Appointment',
      status: 'booked',
      basedOn: [{ reference: `ServiceRequest/${srId}` }],
      serviceType: [{ coding: [{ system: 'http://snomed.info/sct', code: '394579002' }] }],
      slot: [{ reference: `Slot/${w.slotIds[0] ?? ''}` }],
      start: '2026-12-10T16:00:00Z',
      end: '2026-12-10T16:30:00Z',
      participant: [
        { actor: { reference: `Patient/${w.patientId}` }, status: 'accepted' },
        { actor: { reference: `Practitioner/${w.cmn.practitionerId}` }, status: 'accepted' },
      ],
    },
  });
  expect(appointment.statusCode, appointment.body).toBe(201);
  expect((await t.request({ method: 'GET', url: `/fhir/Slot/${w.slotIds[0] ?? ''}` })).json().status).toBe('busy');
  expect((await moveTask(t, srId, w.cmn.doctor, (x) => (x.businessStatus = { coding: [{ system: 'https://ecu-fhir.org/fhir/CodeSystem/estado-referencia', code: 'visit-scheduled' }] }))).statusCode).toBe(200);

  // 5. The VR Encounter needs the patient's telemedicine consent: refused without, recorded with.
  const encounter = {
    resourceType: 'Encounter',
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'VR', display: 'virtual' },
    subject: { reference: `Patient/${w.patientId}` },
    basedOn: [{ reference: `ServiceRequest/${srId}` }],
    appointment: [{ reference: `Appointment/${appointment.json().id}` }],
    serviceType: { coding: [{ system: 'http://snomed.info/sct', code: '394579002', display: 'Cardiología' }] },
    serviceProvider: { reference: `Organization/${w.cmn.id}` },
    participant: [{ individual: { reference: `Practitioner/${w.cmn.practitionerId}` } }],
    period: { start: '2026-12-10T16:00:00Z', end: '2026-12-10T16:30:00Z' },
  };
  const noConsent = await t.request({ method: 'POST', url: '/fhir/Encounter', headers: fhirJson, payload: encounter, token: w.cmn.doctor });
  expect(noConsent.statusCode).toBe(422);
  expect(noConsent.json().issue[0].expression).toEqual(['Encounter.class']);
  expect(noConsent.json().issue[0].details.text).toMatch(/requiere el consentimiento informado de telemedicina/);
  expect((await t.request({ method: 'POST', url: '/fhir/Consent', headers: fhirJson, payload: consent(w), token: w.umf.doctor })).statusCode).toBe(201);
  const visit = await t.request({ method: 'POST', url: '/fhir/Encounter', headers: fhirJson, payload: encounter, token: w.cmn.doctor });
  expect(visit.statusCode, visit.body).toBe(201);
  // The CMN's encounters by specialty (service-type, which R4 lacks for Encounter).
  const bySpecialty = resources(await t.request({ method: 'GET', url: `/fhir/Encounter?service-type=http://snomed.info/sct|394579002&subject=Patient/${w.patientId}`, token: w.cmn.doctor }));
  expect(bySpecialty.map((r) => r.id)).toEqual([visit.json().id]);
  expect((await moveTask(t, srId, w.cmn.doctor, (x) => (x.status = 'in-progress'))).statusCode).toBe(200);

  // 6. The contrarreferencia completes the Task; without it, 422.
  expect((await moveTask(t, srId, w.cmn.doctor, (x) => (x.status = 'completed'))).statusCode).toBe(422);
  const noteId = `contrarreferencia-${w.tag}`;
  expect((await put(t, contrarreferencia(w, noteId), w.cmn.doctor)).statusCode).toBe(201);
  const done = await moveTask(t, srId, w.cmn.doctor, (x) => {
    x.status = 'completed';
    x.businessStatus = { coding: [{ system: 'https://ecu-fhir.org/fhir/CodeSystem/estado-referencia', code: 'visit-complete' }] };
    x.output = [{ type: { text: 'Contrarreferencia' }, valueReference: { reference: `Composition/${noteId}` } }];
  });
  expect(done.statusCode, done.body).toBe(200);

  // 7. The UMF's worklist: what it sent came back completed, with the contrarreferencia.
  const sentList = resources(await t.request({ method: 'GET', url: `/fhir/Task?requester=Organization/${w.umf.id}&status=completed`, token: w.umf.doctor })) as Task[];
  expect(sentList.map((x) => x.id)).toEqual([task.id]);
  expect(sentList[0]?.output?.[0]?.valueReference?.reference).toBe(`Composition/${noteId}`);
  expect((await t.request({ method: 'GET', url: `/fhir/Composition/${noteId}`, token: w.umf.doctor })).statusCode).toBe(200);
  expect(resources(await t.request({ method: 'GET', url: worklist, token: w.cmn.doctor }))).toEqual([]);

  // The summaries now show the contrarreferencia, and no open referral.
  const after = await referencias();
  expect(after?.part?.find((p) => p.name === 'abiertas')?.extension?.[0]?.valueCode).toBe('unknown');
  const back = after?.part?.find((p) => p.name === 'contrarreferencias')?.part?.[0]?.part ?? [];
  expect(back.find((p) => p.name === 'contrarreferencia')?.valueReference).toEqual({ reference: `Composition/${noteId}`, display: 'Contrarreferencia: cardiología' });
  const summaryAfter = (await t.request({ method: 'GET', url: `/fhir/Patient/${w.patientId}/$summary`, token: w.umf.doctor })).json() as Bundle;
  const consultSection = (summaryAfter.entry?.[0]?.resource as Composition).section?.find((x) => x.code?.coding?.[0]?.code === '11488-4');
  expect(consultSection?.entry?.map((e) => e.reference)).toEqual([`Composition/${noteId}`]);
  expect(summaryAfter.entry?.some((e) => e.resource?.resourceType === 'Composition' && e.resource.id === noteId)).toBe(true);

  // The patient reads their own referral and its task; another patient does not.
  const mine = resources(await t.request({ method: 'GET', url: `/fhir/Task?patient=Patient/${w.patientId}`, token: w.patientToken }));
  expect(mine.map((r) => r.id)).toEqual([task.id]);
  expect((await t.request({ method: 'GET', url: `/fhir/ServiceRequest/${srId}`, token: w.patientToken })).statusCode).toBe(200);
  const stranger = await roleToken('patient', { patient: 'otro-paciente' }, 'otro');
  // Outside its compartment: answered as if the Task did not exist (issue 13: no 403 to tell existing ids apart).
  expect((await t.request({ method: 'GET', url: `/fhir/Task/${task.id ?? ''}`, token: stranger })).statusCode).toBe(404);

  // Every step is audited: the Task's creation (inside the referral's transaction) and each of its moves.
  const auditor = await roleToken('auditor', {}, `auditor-${w.tag}`);
  const trail = resources(await t.request({ method: 'GET', url: `/fhir/AuditEvent?entity=Task/${task.id ?? ''}&_count=100`, token: auditor })) as AuditEvent[];
  expect(trail.filter((e) => e.outcome === '0').map((e) => e.subtype?.[0]?.code).sort()).toEqual(['create', ...Array(5).fill('update')].sort());
  // So are the refused completion and the stranger's refused read.
  expect(trail.filter((e) => e.outcome !== '0').map((e) => e.subtype?.[0]?.code).sort()).toEqual(['read', 'update']);
  const history = resources(await t.request({ method: 'GET', url: `/fhir/Task/${task.id ?? ''}/_history` })) as Task[];
  expect(history.map((x) => x.status).reverse()).toEqual(['requested', 'received', 'accepted', 'accepted', 'in-progress', 'completed']);
});

