/**
 * Issue 16: one dispensing ledger per prescription, whatever form the
 * reference takes; only pharmacies dispense; the ledger follows the
 * dispense's status; the quantity carries the prescribed unit.
 */
import type { AuditEvent, Bundle, MedicationDispense, MedicationRequest, Observation, Reference as AnyReference } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, test } from 'vitest';
import { folioSystem } from '../../src/receta/systems.ts';
import { fhirJson, useTestApp } from '../support/app.ts';
import { create, dispense, draft, put, read, recetaWorld, sign, signed, text, type RecetaWorld } from '../support/receta.ts';
import { roleToken } from '../support/tokens.ts';

type Reference = AnyReference<MedicationRequest>;
const publicBase = 'https://ecu.example.mx/fhir';
const t = useTestApp({ profileEnforcement: 'strict', publicBaseUrl: publicBase, allowedHosts: ['interno.ecu.local:8080'] });
let w: RecetaWorld;

beforeAll(async () => {
  w = await recetaWorld(t);
});

const fourUnits = () => draft(w, (m) => (m.dispenseRequest = { quantity: { value: 4, unit: 'tableta' }, numberOfRepeatsAllowed: 0 }));

function dispenseBy(prescription: Reference, quantity: number, token: string, change: (d: MedicationDispense) => void = () => undefined) {
  return dispense(t, '', quantity, token, (d) => {
    d.authorizingPrescription = [prescription];
    change(d);
  });
}

async function dispensesOf(query: string): Promise<MedicationDispense[]> {
  const res = await t.request({ method: 'GET', url: `/fhir/MedicationDispense?${query}&_count=100` });
  expect(res.statusCode, res.body).toBe(200);
  return ((res.json() as Bundle<MedicationDispense>).entry ?? []).map((e) => e.resource as MedicationDispense);
}

async function inQueue(curp: string, token: string): Promise<string[]> {
  const res = await t.request({ method: 'GET', url: `/fhir/MedicationRequest/$pharmacy-queue?curp=${curp}`, token });
  expect(res.statusCode, res.body).toBe(200);
  return ((res.json() as Bundle<MedicationRequest>).entry ?? []).map((e) => e.resource?.id ?? '');
}

describe('every form of authorizingPrescription reaches the one ledger', () => {
  const accepted = (id: string, folio: string): [string, Reference][] => [
    ['FHIR_BASE_URL', { reference: `${publicBase}/MedicationRequest/${id}` }],
    ['an allowed host', { reference: `http://interno.ecu.local:8080/fhir/MedicationRequest/${id}` }],
    ['the folio identifier only', { identifier: { system: folioSystem(w.clues), value: folio } }],
  ];

  test('100 units of a 4-unit receta are refused through every accepted form (409), and through the odd forms (400 naming the element)', async () => {
    const { request, folio } = await signed(t, w, fourUnits());
    const id = request.id ?? '';
    for (const [form, ref] of [['relative', { reference: `MedicationRequest/${id}` }] as [string, Reference], ...accepted(id, folio)]) {
      const res = await dispenseBy(ref, 100, w.pharmacy);
      expect(res.statusCode, `${form}: ${res.body}`).toBe(409);
      expect(text(res)).toMatch(/Surtir 100 excede lo prescrito .*prescrito 4/);
    }
    for (const odd of [`MedicationRequest/${id}/`, `./MedicationRequest/${id}`, `/MedicationRequest/${id}`, ` MedicationRequest/${id}`, `MedicationRequest/${id}?x=1`, `${publicBase}/MedicationRequest/${id}/`]) {
      const res = await dispenseBy({ reference: odd }, 100, w.pharmacy);
      expect(res.statusCode, `${JSON.stringify(odd)}: ${res.body}`).toBe(400);
      expect(res.json().issue[0].expression).toEqual(['MedicationDispense.authorizingPrescription[0].reference']);
      expect(text(res)).toMatch(/use la forma Tipo\/id .* use the form Type\/id/);
    }
    expect(await dispensesOf(`prescription=MedicationRequest/${id}`)).toEqual([]);
  });

  test('three 4-unit dispenses by absolute URL plus one normal: only the first passes; the receta completes at 4', async () => {
    const { request } = await signed(t, w, fourUnits());
    const id = request.id ?? '';
    const first = await dispenseBy({ reference: `${publicBase}/MedicationRequest/${id}` }, 4, w.pharmacy);
    expect(first.statusCode, first.body).toBe(201);
    // Stored (and answered) relative.
    expect((first.json() as MedicationDispense).authorizingPrescription).toEqual([{ reference: `MedicationRequest/${id}` }]);
    expect((await read(t, id)).status).toBe('completed');
    for (const ref of [`${publicBase}/MedicationRequest/${id}`, `http://interno.ecu.local:8080/fhir/MedicationRequest/${id}`, `MedicationRequest/${id}`]) {
      const again = await dispenseBy({ reference: ref }, 4, w.otherPharmacy);
      expect(again.statusCode, again.body).toBe(409);
    }
    const found = await dispensesOf(`prescription=MedicationRequest/${id}`);
    expect(found.map((d) => d.id)).toEqual([(first.json() as MedicationDispense).id]);
    expect(await dispensesOf(`prescription=${publicBase}/MedicationRequest/${id}`)).toHaveLength(1);
  });

  test('by folio identifier only: counted on the folio’s prescription, found by prescription:identifier', async () => {
    const { request, folio } = await signed(t, w, fourUnits());
    const id = request.id ?? '';
    const res = await dispenseBy({ identifier: { system: folioSystem(w.clues), value: folio } }, 3, w.pharmacy);
    expect(res.statusCode, res.body).toBe(201);
    expect((await dispenseBy({ reference: `MedicationRequest/${id}` }, 2, w.pharmacy)).statusCode).toBe(409);
    expect((await dispenseBy({ reference: `MedicationRequest/${id}` }, 1, w.pharmacy)).statusCode).toBe(201);
    expect((await read(t, id)).status).toBe('completed');
    const byFolio = await dispensesOf(`prescription:identifier=${encodeURIComponent(`${folioSystem(w.clues)}|${folio}`)}`);
    expect(byFolio.map((d) => d.id)).toEqual([(res.json() as MedicationDispense).id]);
  });

  test('a dispense that names no signed receta, or several, is 422 naming MedicationDispense.authorizingPrescription', async () => {
    const { request } = await signed(t, w, fourUnits());
    const draftOnly = await create(t, w, fourUnits());
    const group = { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${crypto.randomUUID()}` };
    const a = await create(t, w, draft(w, (m) => (m.groupIdentifier = group)));
    await create(t, w, draft(w, (m) => (m.groupIdentifier = group)));
    expect((await sign(t, a.id ?? '', w.doctor)).statusCode).toBe(200);
    const twoLineFolio = (await read(t, a.id ?? '')).groupIdentifier;
    const cases: [string, Reference[] | undefined, RegExp][] = [
      ['no prescription', undefined, /exactamente una prescripción.*llegaron 0/],
      ['two prescriptions', [{ reference: `MedicationRequest/${request.id ?? ''}` }, { reference: `MedicationRequest/${draftOnly.id ?? ''}` }], /llegaron 2/],
      ['missing', [{ reference: 'MedicationRequest/no-existe' }], /no existe/],
      ['a draft', [{ reference: `MedicationRequest/${draftOnly.id ?? ''}` }], /no es una receta firmada/],
      ['another server', [{ reference: `https://otro.example.org/fhir/MedicationRequest/${request.id ?? ''}` }], /de este servidor o el folio/],
      ['an unknown folio', [{ identifier: { system: folioSystem(w.clues), value: '99999999' } }], /Ninguna receta firmada tiene el folio/],
      ['a folio of two prescriptions', [{ identifier: twoLineFolio }], /tiene 2 prescripciones/],
      ['a folio that is not the referenced one’s', [{ reference: `MedicationRequest/${request.id ?? ''}`, identifier: twoLineFolio }], /no es el de MedicationRequest/],
    ];
    for (const [label, refs, message] of cases) {
      const res = await dispense(t, '', 1, w.pharmacy, (d) => (refs ? (d.authorizingPrescription = refs) : delete d.authorizingPrescription));
      expect(res.statusCode, `${label}: ${res.body}`).toBe(422);
      expect(res.json().issue[0].expression, label).toEqual(['MedicationDispense.authorizingPrescription']);
      expect(text(res), label).toMatch(message);
    }
  });

  test('every reference search finds a reference written absolute to this server (stored relative)', async () => {
    const obs: Observation = { resourceType: 'Observation', status: 'final', code: { text: 'glucosa' }, subject: { reference: `${publicBase}/Patient/${w.patientId}` } };
    const res = await t.request({ method: 'POST', url: '/fhir/Observation', headers: fhirJson, payload: obs });
    expect(res.statusCode, res.body).toBe(201);
    const stored = res.json() as Observation;
    expect(stored.subject).toEqual({ reference: `Patient/${w.patientId}` });
    const found = await t.request({ method: 'GET', url: `/fhir/Observation?subject=Patient/${w.patientId}&_id=${stored.id ?? ''}` });
    expect((found.json() as Bundle).total ?? (found.json() as Bundle).entry?.length).toBe(1);
    const byPatient = await t.request({ method: 'GET', url: `/fhir/Observation?patient=${w.patientId}&_id=${stored.id ?? ''}` });
    expect((byPatient.json() as Bundle).entry).toHaveLength(1);
  });
});

test('the MX rules judge the stored form: a receta whose requester and subject are absolute URLs of this server is accepted, stored relative, and signs', async () => {
  const m = draft(w, (r) => {
    r.requester = { reference: `${publicBase}/Practitioner/${w.practitionerId}` };
    r.subject = { reference: `http://interno.ecu.local:8080/fhir/Patient/${w.patientId}` };
  });
  const made = await create(t, w, m);
  expect(made.requester).toEqual({ reference: `Practitioner/${w.practitionerId}` });
  expect(made.subject).toEqual({ reference: `Patient/${w.patientId}` });
  expect((await sign(t, m.id ?? '', w.doctor)).statusCode).toBe(200);
  const odd = await put(t, draft(w, (r) => (r.requester = { reference: `Practitioner/${w.practitionerId}/` })), w.doctor);
  expect(odd.statusCode).toBe(400);
  expect(odd.json().issue[0].expression).toEqual(['MedicationRequest.requester.reference']);
});

describe('only a pharmacy dispenses', () => {
  test('a clinician or institution token cannot create, update or cancel a dispense, by any reference form (403)', async () => {
    const { request, folio } = await signed(t, w, fourUnits());
    const id = request.id ?? '';
    const institution = await roleToken('institution', { clues: 'DFIST000011' }, `inst-${w.tag}`);
    for (const token of [w.doctor, institution]) {
      for (const ref of [{ reference: `MedicationRequest/${id}` }, { reference: `${publicBase}/MedicationRequest/${id}` }, { identifier: { system: folioSystem(w.clues), value: folio } }]) {
        const res = await dispenseBy(ref, 1, token);
        expect(res.statusCode, res.body).toBe(403);
        expect(text(res)).toMatch(/Solo una farmacia/);
      }
    }
    const made = (await dispenseBy({ reference: `MedicationRequest/${id}` }, 1, w.pharmacy)).json() as MedicationDispense;
    expect((await put(t, { ...made, status: 'cancelled' }, w.doctor)).statusCode).toBe(403);
    expect((await t.request({ method: 'PATCH', url: `/fhir/MedicationDispense/${made.id ?? ''}`, headers: { 'content-type': 'application/json-patch+json' }, payload: [{ op: 'replace', path: '/status', value: 'cancelled' }], token: institution })).statusCode).toBe(403);
    const bundle = { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'POST', url: 'MedicationDispense' }, resource: { resourceType: 'MedicationDispense', status: 'completed', authorizingPrescription: [{ reference: `MedicationRequest/${id}` }], quantity: { value: 1, unit: 'tableta' }, medicationCodeableConcept: { text: 'x' } } }] };
    expect((await t.request({ method: 'POST', url: '/fhir', headers: fhirJson, payload: bundle, token: w.doctor })).statusCode).toBe(403);
    expect((await put(t, { ...made, status: 'cancelled' }, w.pharmacy)).statusCode).toBe(200);
  });
});

describe('the ledger follows the dispense status', () => {
  for (const status of ['entered-in-error', 'cancelled', 'declined'] as const) {
    test(`4 of 4 dispensed, then the dispense ${status}: the receta is active again, back in the queue, and 4 can be dispensed again`, async () => {
      const { request } = await signed(t, w, fourUnits());
      const id = request.id ?? '';
      const made = await dispenseBy({ reference: `MedicationRequest/${id}` }, 4, w.pharmacy);
      expect(made.statusCode).toBe(201);
      expect((await read(t, id)).status).toBe('completed');
      expect(await inQueue(w.curp, w.pharmacy)).not.toContain(id);
      const undone = await put(t, { ...(made.json() as MedicationDispense), status }, w.pharmacy);
      expect(undone.statusCode, undone.body).toBe(200);
      expect((await read(t, id)).status).toBe('active');
      expect(await inQueue(w.curp, w.pharmacy)).toContain(id);
      expect((await dispenseBy({ reference: `MedicationRequest/${id}` }, 5, w.pharmacy)).statusCode).toBe(409);
      expect((await dispenseBy({ reference: `MedicationRequest/${id}` }, 4, w.otherPharmacy)).statusCode).toBe(201);
      expect((await read(t, id)).status).toBe('completed');
    });
  }

  test('the reopening is audited, and a clinician still cannot set completed → active', async () => {
    const pharmacist = await roleToken('pharmacy', { clues: 'DFSSA000001' }, `reapertura-${w.tag}`);
    const { request } = await signed(t, w, fourUnits());
    const id = request.id ?? '';
    const made = (await dispenseBy({ reference: `MedicationRequest/${id}` }, 4, pharmacist)).json() as MedicationDispense;
    expect((await put(t, { ...(await read(t, id)), status: 'active' }, w.doctor)).statusCode).toBe(409);
    expect((await put(t, { ...made, status: 'entered-in-error' }, pharmacist)).statusCode).toBe(200);
    const res = await t.request({ method: 'GET', url: `/fhir/AuditEvent?agent=reapertura-${w.tag}&_count=50` });
    const events = ((res.json() as Bundle<AuditEvent>).entry ?? []).map((e) => e.resource as AuditEvent);
    // Completion and reopening: two audited versions of the prescription, written by the ledger under the pharmacy's requests.
    expect(events.filter((e) => e.entity?.some((x) => x.what?.reference?.startsWith(`MedicationRequest/${id}`)))).toHaveLength(2);
    const history = await t.request({ method: 'GET', url: `/fhir/MedicationRequest/${id}/_history` });
    expect(((history.json() as Bundle<MedicationRequest>).entry ?? []).map((e) => e.resource?.status)).toEqual(['active', 'completed', 'active', 'draft']);
  });

  test('only the pharmacy that recorded a dispense gives its quantity back (another pharmacy: 403)', async () => {
    const { request } = await signed(t, w, fourUnits());
    const made = (await dispenseBy({ reference: `MedicationRequest/${request.id ?? ''}` }, 4, w.pharmacy)).json() as MedicationDispense;
    const res = await put(t, { ...made, status: 'entered-in-error' }, w.otherPharmacy);
    expect(res.statusCode).toBe(403);
    expect(text(res)).toMatch(/lo registró la farmacia DFSSA000001/);
    expect((await read(t, request.id ?? '')).status).toBe('completed');
  });

  test('a partial dispense cancelled gives its quantity back (the receta stays active)', async () => {
    const { request } = await signed(t, w, fourUnits());
    const id = request.id ?? '';
    const made = (await dispenseBy({ reference: `MedicationRequest/${id}` }, 3, w.pharmacy)).json() as MedicationDispense;
    expect((await dispenseBy({ reference: `MedicationRequest/${id}` }, 2, w.pharmacy)).statusCode).toBe(409);
    expect((await put(t, { ...made, status: 'cancelled' }, w.pharmacy)).statusCode).toBe(200);
    expect((await dispenseBy({ reference: `MedicationRequest/${id}` }, 4, w.pharmacy)).statusCode).toBe(201);
  });

  test('an expired receta given quantity back stays completed (nothing left can be dispensed)', async () => {
    const end = new Date(Date.now() + 2500).toISOString();
    const { request } = await signed(t, w, draft(w, (m) => (m.dispenseRequest = { quantity: { value: 4, unit: 'tableta' }, validityPeriod: { end } })));
    const id = request.id ?? '';
    const made = (await dispenseBy({ reference: `MedicationRequest/${id}` }, 4, w.pharmacy)).json() as MedicationDispense;
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(end) - Date.now() + 100)));
    expect((await put(t, { ...made, status: 'entered-in-error' }, w.pharmacy)).statusCode).toBe(200);
    expect((await read(t, id)).status).toBe('completed');
  });
});

describe('the quantity carries the prescribed unit', () => {
  test('no unit or code: 422 naming MedicationDispense.quantity; nothing counted', async () => {
    const { request } = await signed(t, w, fourUnits());
    const id = request.id ?? '';
    const res = await dispenseBy({ reference: `MedicationRequest/${id}` }, 2, w.pharmacy, (d) => (d.quantity = { value: 2 }));
    expect(res.statusCode).toBe(422);
    expect(res.json().issue[0].expression).toEqual(['MedicationDispense.quantity']);
    expect(text(res)).toMatch(/debe llevar la unidad prescrita .*tableta/);
    expect((await dispenseBy({ reference: `MedicationRequest/${id}` }, 4, w.pharmacy)).statusCode).toBe(201);
  });

  test('UCUM: the same code (and system) matches; another code does not', async () => {
    const ucum = 'http://unitsofmeasure.org';
    const { request } = await signed(t, w, draft(w, (m) => (m.dispenseRequest = { quantity: { value: 100, unit: 'mL', system: ucum, code: 'mL' } })));
    const id = request.id ?? '';
    const ref = { reference: `MedicationRequest/${id}` };
    const litres = await dispenseBy(ref, 1, w.pharmacy, (d) => (d.quantity = { value: 0.05, system: ucum, code: 'L' }));
    expect(litres.statusCode).toBe(422);
    expect(text(litres)).toMatch(/La unidad surtida "L" no es la prescrita "mL \/ mL"/);
    expect((await dispenseBy(ref, 1, w.pharmacy, (d) => (d.quantity = { value: 50, system: 'http://snomed.info/sct', code: 'mL' }))).statusCode).toBe(422);
    expect((await dispenseBy(ref, 1, w.pharmacy, (d) => (d.quantity = { value: 50, system: ucum, code: 'mL' }))).statusCode).toBe(201);
    expect((await dispenseBy(ref, 1, w.pharmacy, (d) => (d.quantity = { value: 50, unit: 'mL' }))).statusCode).toBe(201);
    expect((await read(t, id)).status).toBe('completed');
  });
});
