import type { Appointment, Consent, ServiceRequest } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import { heldSlots } from './appointment-hook.ts';
import { consentCovers, isVirtual } from './encounter-hook.ts';
import { folioOf, isReferral, modalityOf, referralIssues } from './referral-request.ts';

const valid: ServiceRequest = {
  resourceType: 'ServiceRequest',
  extension: [{ url: 'https://ecu-fhir.org/fhir/StructureDefinition/mx-modalidad-atencion', valueCoding: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'VR' } }],
  identifier: [{ system: 'https://ecu-fhir.org/fhir/sid/referencia/CSIST000123', value: 'REF-1' }],
  status: 'active',
  intent: 'order',
  category: [{ coding: [{ system: 'http://snomed.info/sct', code: '3457005' }] }],
  priority: 'routine',
  subject: { reference: 'Patient/p1' },
  requester: { reference: 'PractitionerRole/r1' },
  performer: [{ reference: 'HealthcareService/cardio' }],
  performerType: { coding: [{ system: 'http://snomed.info/sct', code: '394579002' }] },
  reasonCode: [{ coding: [{ system: 'http://hl7.org/fhir/sid/icd-10', code: 'I10' }] }],
  supportingInfo: [{ reference: 'DocumentReference/d1' }],
};

describe('mx-referencia', () => {
  test('a complete referral has no issues; its folio and modality are read', () => {
    expect(referralIssues(valid)).toEqual([]);
    expect(folioOf(valid)).toEqual({ system: 'https://ecu-fhir.org/fhir/sid/referencia/CSIST000123', value: 'REF-1' });
    expect(modalityOf(valid)?.code).toBe('VR');
  });

  test('a referral is known by its category or its profile; other ServiceRequests are left alone', () => {
    expect(isReferral(valid)).toBe(true);
    expect(isReferral({ ...valid, category: undefined, meta: { profile: ['https://ecu-fhir.org/fhir/StructureDefinition/mx-referencia'] } })).toBe(true);
    expect(isReferral({ ...valid, category: [{ coding: [{ system: 'http://snomed.info/sct', code: '108252007' }] }] })).toBe(false);
    expect(isReferral(undefined)).toBe(false);
  });

  test('each missing or wrong element is one issue naming it', () => {
    const paths = (sr: ServiceRequest) => referralIssues(sr).flatMap((i) => i.expression ?? []);
    expect(paths({ ...valid, intent: 'proposal' })).toEqual(['ServiceRequest.intent']);
    expect(paths({ ...valid, performer: [{ reference: 'Organization/a' }, { reference: 'Organization/b' }] })).toEqual(['ServiceRequest.performer']);
    expect(paths({ ...valid, requester: { reference: 'Organization/umf' } })).toEqual(['ServiceRequest.requester']);
    expect(paths({ ...valid, reasonCode: [{ coding: [{ system: 'http://snomed.info/sct', code: '38341003' }] }] })).toEqual(['ServiceRequest.reasonCode']);
    expect(paths({ ...valid, identifier: [{ system: 'urn:other', value: 'x' }] })).toEqual(['ServiceRequest.identifier']);
    expect(paths({ ...valid, extension: [{ url: 'https://ecu-fhir.org/fhir/StructureDefinition/mx-modalidad-atencion', valueCoding: { code: 'VR' } }] })).toHaveLength(1);
    expect(paths({ ...valid, status: 'draft' })).toEqual(['ServiceRequest.status']);
  });
});

describe('slots and consent', () => {
  const appointment = (status: Appointment['status']): Appointment => ({ resourceType: 'Appointment', status, participant: [], slot: [{ reference: 'Slot/b' }, { reference: 'Slot/a' }, { reference: 'Slot/a' }] });

  test('booked, pending, arrived, checked-in and fulfilled hold their slots (sorted, once); proposed, cancelled, noshow do not', () => {
    for (const s of ['booked', 'pending', 'arrived', 'checked-in', 'fulfilled'] as const) expect(heldSlots(appointment(s))).toEqual(['a', 'b']);
    for (const s of ['proposed', 'cancelled', 'noshow', 'entered-in-error', 'waitlist'] as const) expect(heldSlots(appointment(s))).toEqual([]);
  });

  test('a consent counts when active, permitting and in force on the day', () => {
    const now = new Date('2026-12-10T16:00:00Z');
    const c: Consent = { resourceType: 'Consent', status: 'active', scope: { text: 'treatment' }, category: [{ text: 'telemedicina' }], provision: { type: 'permit', period: { start: '2026-12-01' } } };
    expect(consentCovers(c, now)).toBe(true);
    expect(consentCovers({ ...c, status: 'inactive' }, now)).toBe(false);
    expect(consentCovers({ ...c, provision: { type: 'deny' } }, now)).toBe(false);
    expect(consentCovers({ ...c, provision: { type: 'permit', period: { end: '2026-12-09' } } }, now)).toBe(false);
    expect(consentCovers({ ...c, provision: undefined }, now)).toBe(true);
  });

  test('a virtual encounter is class VR and not cancelled', () => {
    const vr = { resourceType: 'Encounter' as const, status: 'finished' as const, class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'VR' } };
    expect(isVirtual(vr)).toBe(true);
    expect(isVirtual({ ...vr, status: 'cancelled' })).toBe(false);
    expect(isVirtual({ ...vr, class: { ...vr.class, code: 'AMB' } })).toBe(false);
  });
});
