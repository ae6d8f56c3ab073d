/** Controlled substances (LGS art. 226 groups I–III) from the catalogue, enforced on $sign and by the dispense ledger. */
import type { MedicationRequest, OperationOutcome } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, test } from 'vitest';
import { specialFolioSystem } from '../../src/receta/systems.ts';
import { uniqueTag, useTestApp } from '../support/app.ts';
import { catalogMedication, create, dispense, draft, prescribeKey, put, read, recetaWorld, sign, signed, type RecetaWorld } from '../support/receta.ts';

const t = useTestApp({ profileEnforcement: 'strict' });
let w: RecetaWorld;
let morfina: string;
let metilfenidato: string;
let clonazepam: string;

beforeAll(async () => {
  w = await recetaWorld(t);
  morfina = (await catalogMedication(t, 'I', 'Morfina 30 mg tabletas')).key;
  metilfenidato = (await catalogMedication(t, 'II', 'Metilfenidato 10 mg tabletas')).key;
  clonazepam = (await catalogMedication(t, 'III', 'Clonazepam 2 mg tabletas')).key;
});

function text(res: { body: string }): string {
  return ((JSON.parse(res.body) as OperationOutcome).issue ?? []).map((i) => `${i.expression?.join(',') ?? ''}: ${i.details?.text ?? ''}`).join('\n');
}

function groupI(m: MedicationRequest, folio = `CB-${uniqueTag()}`): void {
  prescribeKey(m, morfina, 'Morfina 30 mg tabletas');
  m.identifier = [{ system: specialFolioSystem, value: folio }];
  m.dispenseRequest = { quantity: { value: 20, unit: 'tableta' }, numberOfRepeatsAllowed: 0, expectedSupplyDuration: { value: 10, unit: 'd', system: 'http://unitsofmeasure.org', code: 'd' } };
}

async function refused(m: MedicationRequest, status: number, message: RegExp): Promise<void> {
  await create(t, w, m);
  const res = await sign(t, m.id ?? '', w.doctor);
  expect(res.statusCode, res.body).toBe(status);
  expect(text(res)).toMatch(message);
  expect((await read(t, m.id ?? '')).status).toBe('draft');
}

describe('the catalogue', () => {
  test('only the institution maintains control groups: a clinician writing a grouped Medication gets 403', async () => {
    const res = await put(t, { resourceType: 'Medication', id: `med-${uniqueTag()}`, extension: [{ url: 'https://ecu-fhir.org/fhir/StructureDefinition/mx-grupo-medicamento', valueCoding: { code: 'IV' } }], code: { text: 'x' } } as never, w.doctor);
    expect(res.statusCode).toBe(403);
  });
});

describe('group I (estupefacientes)', () => {
  test('a complete special prescription is signed; validity filled to 30 days; dispensed once', async () => {
    const { request } = await signed(t, w, draft(w, (m) => groupI(m)));
    const end = new Date(request.dispenseRequest?.validityPeriod?.end ?? '');
    expect(Math.round((end.getTime() - Date.now()) / 86_400_000)).toBe(30);
    expect((await dispense(t, request.id ?? '', 10, w.pharmacy)).statusCode).toBe(201);
    const second = await dispense(t, request.id ?? '', 10, w.otherPharmacy);
    expect(second.statusCode).toBe(409);
    expect(text(second)).toMatch(/grupo I\) admite 1 surtido\(s\) y ya tiene 1/);
  });

  test('without the COFEPRIS special form folio: 422', () => refused(draft(w, (m) => { groupI(m); delete m.identifier; }), 422, /MedicationRequest.identifier: .*recetario especial COFEPRIS/));

  test('a special form folio is used once (409)', async () => {
    const folio = `CB-${uniqueTag()}`;
    await signed(t, w, draft(w, (m) => groupI(m, folio)));
    await refused(draft(w, (m) => groupI(m, folio)), 409, new RegExp(`folio de recetario especial ${folio} ya se usó`));
  });

  test('alone on its receta: a second medicine in the group is 422', async () => {
    const group = { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${crypto.randomUUID()}` };
    await create(t, w, draft(w, (m) => (m.groupIdentifier = group)));
    await refused(draft(w, (m) => { groupI(m); m.groupIdentifier = group; }), 422, /va solo en su receta; esta receta tiene 2/);
  });

  test('more than 30 days of treatment, refills, or no duration: 422 naming each', async () => {
    await refused(draft(w, (m) => { groupI(m); m.dispenseRequest = { ...m.dispenseRequest, expectedSupplyDuration: { value: 45, system: 'http://unitsofmeasure.org', code: 'd' }, numberOfRepeatsAllowed: 1 }; }), 422, /a lo sumo 0 resurtidos[\s\S]*a lo sumo 30 días, no 45/);
    await refused(draft(w, (m) => { groupI(m); delete m.dispenseRequest?.expectedSupplyDuration; m.dosageInstruction = [{ text: 'según dolor' }]; }), 422, /indique la duración del tratamiento/);
  });
});

describe('group II', () => {
  test('at most 2 presentations, dispensed once, valid 30 days', async () => {
    const set = (m: MedicationRequest, quantity: number) => {
      prescribeKey(m, metilfenidato, 'Metilfenidato 10 mg');
      m.dispenseRequest = { quantity: { value: quantity, unit: 'caja' } };
    };
    await refused(draft(w, (m) => set(m, 3)), 422, /a lo sumo 2 presentaciones, no 3/);
    await refused(draft(w, (m) => { set(m, 2); m.dispenseRequest = { ...m.dispenseRequest, validityPeriod: { end: '2099-01-01' } }; }), 422, /la vigencia es de a lo sumo 30 días/);
    const { request } = await signed(t, w, draft(w, (m) => set(m, 2)));
    expect((await dispense(t, request.id ?? '', 1, w.pharmacy, (d) => (d.quantity = { value: 1, unit: 'caja' }))).statusCode).toBe(201);
    // One presentation is left, but group II is dispensed once.
    expect((await dispense(t, request.id ?? '', 1, w.pharmacy, (d) => (d.quantity = { value: 1, unit: 'caja' }))).statusCode).toBe(409);
  });
});

describe('group III', () => {
  test('up to three dispenses within six months; a fourth is 409', async () => {
    await refused(draft(w, (m) => { prescribeKey(m, clonazepam, 'Clonazepam'); m.dispenseRequest = { quantity: { value: 30, unit: 'tableta' }, numberOfRepeatsAllowed: 3 }; }), 422, /a lo sumo 2 resurtidos/);
    const { request } = await signed(t, w, draft(w, (m) => { prescribeKey(m, clonazepam, 'Clonazepam'); m.dispenseRequest = { quantity: { value: 30, unit: 'tableta' }, numberOfRepeatsAllowed: 2 }; }));
    const end = new Date(request.dispenseRequest?.validityPeriod?.end ?? '');
    expect(Math.round((end.getTime() - Date.now()) / 86_400_000)).toBeGreaterThanOrEqual(180);
    for (const _ of [1, 2, 3]) expect((await dispense(t, request.id ?? '', 10, w.pharmacy)).statusCode).toBe(201);
    const fourth = await dispense(t, request.id ?? '', 10, w.pharmacy);
    expect(fourth.statusCode).toBe(409);
    expect(text(fourth)).toMatch(/admite 3 surtido\(s\) y ya tiene 3/);
  });
});

test('a medicine outside the catalogue or of group IV–VI: refills as written, only the quantity limits', async () => {
  const { request } = await signed(t, w, draft(w, (m) => (m.dispenseRequest = { quantity: { value: 2, unit: 'tableta' }, numberOfRepeatsAllowed: 2 })));
  for (const _ of [1, 2, 3, 4, 5, 6]) expect((await dispense(t, request.id ?? '', 1, w.pharmacy)).statusCode).toBe(201);
  expect((await read(t, request.id ?? '')).status).toBe('completed');
});
