/** Virtual consultations: a Slot is booked at most once across instances; a VR Encounter needs the telemedicine consent. */
import type { Appointment } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, test } from 'vitest';
import { fhirJson, useTestApp } from '../support/app.ts';
import type { Bundle } from '@medplum/fhirtypes';
import { consent, put, referral, type ReferralWorld, referralWorld, sendReferral } from '../support/referral.ts';
import { roleToken } from '../support/tokens.ts';

// Two app instances on one database, as behind a load balancer.
const a = useTestApp({ profileEnforcement: 'strict' });
const b = useTestApp({ profileEnforcement: 'strict' });
const noConsent = useTestApp({ profileEnforcement: 'strict', telemedicineConsent: 'off' });
let w: ReferralWorld;

beforeAll(async () => {
  w = await referralWorld(a, 5);
});

function appointment(slotId: string, status: Appointment['status'] = 'booked'): Appointment {
  return {
    resourceType: 'Appointment',
    status,
    slot: [{ reference: `Slot/${slotId}` }],
    start: '2026-12-10T16:00:00Z',
    end: '2026-12-10T16:30:00Z',
    participant: [{ actor: { reference: `Patient/${w.patientId}` }, status: 'accepted' }],
  };
}

const slotStatus = async (id: string) => (await a.request({ method: 'GET', url: `/fhir/Slot/${id}` })).json().status as string;

describe('booking a Slot', () => {
  test('20 concurrent bookings of one Slot on two instances: exactly one succeeds, the others are 409', async () => {
    const slot = w.slotIds[0] ?? '';
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).request({ method: 'POST', url: '/fhir/Appointment', headers: fhirJson, payload: appointment(slot), token: w.cmn.doctor })),
    );
    const codes = results.map((r) => r.statusCode).sort();
    expect(codes).toEqual([201, ...Array(19).fill(409)]);
    for (const r of results.filter((x) => x.statusCode === 409)) expect(r.json().issue[0].expression).toEqual(['Appointment.slot']);
    const booked = (await a.request({ method: 'GET', url: `/fhir/Appointment?slot=Slot/${slot}` })).json();
    expect(booked.entry).toHaveLength(1);
    expect(await slotStatus(slot)).toBe('busy');
  });

  test('cancelling releases the Slot (free again) and another appointment can take it; rebooking the same appointment is no conflict', async () => {
    const slot = w.slotIds[1] ?? '';
    const first = (await a.request({ method: 'POST', url: '/fhir/Appointment', headers: fhirJson, payload: appointment(slot), token: w.cmn.doctor })).json() as Appointment;
    expect((await b.request({ method: 'POST', url: '/fhir/Appointment', headers: fhirJson, payload: appointment(slot), token: w.cmn.doctor })).statusCode).toBe(409);
    expect((await put(a, { ...first, status: 'arrived' }, w.cmn.doctor)).statusCode).toBe(200);
    expect((await put(a, { ...first, status: 'cancelled', cancelationReason: { text: 'Paciente sin conexión' } }, w.cmn.doctor)).statusCode).toBe(200);
    expect(await slotStatus(slot)).toBe('free');
    expect((await b.request({ method: 'POST', url: '/fhir/Appointment', headers: fhirJson, payload: appointment(slot), token: w.cmn.doctor })).statusCode).toBe(201);
  });

  test('a proposed appointment holds nothing; a Slot that does not exist is 422', async () => {
    const slot = w.slotIds[2] ?? '';
    expect((await a.request({ method: 'POST', url: '/fhir/Appointment', headers: fhirJson, payload: appointment(slot, 'proposed'), token: w.cmn.doctor })).statusCode).toBe(201);
    expect(await slotStatus(slot)).toBe('free');
    const missing = await a.request({ method: 'POST', url: '/fhir/Appointment', headers: fhirJson, payload: appointment('no-existe'), token: w.cmn.doctor });
    expect(missing.statusCode).toBe(422);
    expect(missing.json().issue[0].expression).toEqual(['Appointment.slot']);
  });

  test("a referral's consultation takes a Slot of the receiving unit, not another unit's (422)", async () => {
    const sent = await sendReferral(a, w, referral(w));
    const sr = /ServiceRequest\/([^/]+)/.exec((sent.json() as Bundle).entry?.[1]?.response?.location ?? '')?.[1] ?? '';
    await put(a, { resourceType: 'Schedule', id: `otra-${w.tag}`, actor: [{ reference: `Organization/${w.outside.id}` }] });
    await put(a, { resourceType: 'Slot', id: `otro-${w.tag}`, schedule: { reference: `Schedule/otra-${w.tag}` }, status: 'free', start: '2026-12-10T16:00:00Z', end: '2026-12-10T16:30:00Z' });
    const wrong = await a.request({ method: 'POST', url: '/fhir/Appointment', headers: fhirJson, payload: { ...appointment(`otro-${w.tag}`), basedOn: [{ reference: `ServiceRequest/${sr}` }] }, token: w.cmn.doctor });
    expect(wrong.statusCode).toBe(422);
    expect(wrong.json().issue[0].expression).toEqual(['Appointment.slot']);
    const right = await a.request({ method: 'POST', url: '/fhir/Appointment', headers: fhirJson, payload: { ...appointment(w.slotIds[4] ?? ''), basedOn: [{ reference: `ServiceRequest/${sr}` }] }, token: w.cmn.doctor });
    expect(right.statusCode, right.body).toBe(201);
  });

  test('a Slot marked busy-unavailable is not booked (409)', async () => {
    const slot = w.slotIds[3] ?? '';
    const current = (await a.request({ method: 'GET', url: `/fhir/Slot/${slot}` })).json();
    await put(a, { ...current, status: 'busy-unavailable' });
    expect((await a.request({ method: 'POST', url: '/fhir/Appointment', headers: fhirJson, payload: appointment(slot), token: w.cmn.doctor })).statusCode).toBe(409);
  });
});

describe('telemedicine consent', () => {
  const vr = () => ({
    resourceType: 'Encounter',
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'VR' },
    subject: { reference: `Patient/${w.patientId}` },
    serviceProvider: { reference: `Organization/${w.cmn.id}` },
    period: { start: '2026-12-10T16:00:00Z', end: '2026-12-10T16:30:00Z' },
  });
  const post = (app: typeof a, body: object) => app.request({ method: 'POST', url: '/fhir/Encounter', headers: fhirJson, payload: body, token: w.cmn.doctor });

  test('required by default: a withdrawn, denied, expired consent or another patient’s does not count; an in-person encounter needs none', async () => {
    const other = consent(w, (c) => (c.patient = { reference: 'Patient/otro' }));
    for (const c of [consent(w, (x) => (x.status = 'inactive')), consent(w, (x) => (x.provision = { type: 'deny' })), consent(w, (x) => (x.provision = { type: 'permit', period: { start: '2020-01-01', end: '2020-12-31' } })), other]) {
      expect((await a.request({ method: 'POST', url: '/fhir/Consent', headers: fhirJson, payload: c })).statusCode).toBe(201);
    }
    expect((await post(a, vr())).statusCode).toBe(422);
    expect((await post(a, { ...vr(), class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' } })).statusCode).toBe(201);
  });

  test('the consent is looked for as the writer may read: a token that reads no Consent finds none (422, whether one exists or not)', async () => {
    // A receiving clinician whose token records encounters but reads no Consent.
    const blind = await roleToken('clinician', { clues: w.cmn.clues, fhirUser: `Practitioner/${w.cmn.practitionerId}`, scope: 'user/Encounter.cruds user/Patient.rs user/Organization.rs' }, `ciego-${w.tag}`);
    const asBlind = (body: object) => a.request({ method: 'POST', url: '/fhir/Encounter', headers: fhirJson, payload: body, token: blind });
    const before = await asBlind(vr());
    expect((await a.request({ method: 'POST', url: '/fhir/Consent', headers: fhirJson, payload: consent(w) })).statusCode).toBe(201);
    const after = await asBlind(vr());
    expect(after.statusCode, after.body).toBe(422);
    expect(after.json().issue).toEqual(before.json().issue);
    // Whoever may read the consent records the encounter.
    expect((await post(a, vr())).statusCode).toBe(201);
  });

  test('TELEMEDICINE_CONSENT=off records a VR encounter without consent', async () => {
    const res = await post(noConsent, vr());
    expect(res.statusCode, res.body).toBe(201);
  });
});
