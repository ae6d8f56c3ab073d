/**
 * `npm run seed`'s demo data set through the API, twice: everything passes
 * the strict MX profiles, the second run writes nothing, and the data is what
 * the README's examples rely on (José found by `name=jose`, antecedentes at
 * both levels of care, signed recetas in the pharmacy queue, a referral with
 * its Task and a telemedicine consultation).
 */
import { expect, test } from 'vitest';
import { loadDemo, type DemoSend } from '../../src/seed/load-demo.ts';
import { useTestApp } from '../support/app.ts';
import { roleToken } from '../support/tokens.ts';

const t = useTestApp({ ownDatabase: true, profileEnforcement: 'strict' });

const send: DemoSend = async (method, url, token, body) => {
  const res = await t.app.inject({ method, url: `/fhir${url}`, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/fhir+json' } : {}) }, payload: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.statusCode, body: res.body };
};
const tokenFor = ({ role, sub, ...claims }: { role: string; sub: string; clues?: string; fhirUser?: string }) => roleToken(role, claims, sub);

test('the demo data loads under strict profiles, once', { timeout: 60_000 }, async () => {
  const first = await loadDemo(send, tokenFor);
  expect(first.written).toBeGreaterThan(40);
  expect(first.present).toBe(0);
  expect(first.signed).toBe(2);
  expect(first.byType).toMatchObject({ Organization: 6, Patient: 3 });
  const second = await loadDemo(send, tokenFor);
  expect(second).toEqual({ ...first, written: 0, present: first.written, signed: 0 });

  const patients = JSON.parse((await t.request({ method: 'GET', url: '/fhir/Patient?_summary=count' })).body) as { total: number };
  expect(patients.total).toBe(3);
  const jose = JSON.parse((await t.request({ method: 'GET', url: '/fhir/Patient?name=jose' })).body) as { entry: { resource: { id: string } }[] };
  expect(jose.entry.map((e) => e.resource.id)).toEqual(['paciente-jose']);
  const history = JSON.parse((await t.request({ method: 'GET', url: '/fhir/Patient/paciente-jose/_history' })).body) as { total?: number; entry: unknown[] };
  expect(history.entry).toHaveLength(1);

  const resumen = JSON.parse((await t.request({ method: 'GET', url: '/fhir/Patient/paciente-jose/$resumen-medico?date=2026-11-23' })).body) as { parameter: { name: string; part?: { name: string; part?: { name: string }[] }[] }[] };
  const antecedentes = resumen.parameter.find((p) => p.name === 'antecedentes')!;
  expect(antecedentes.part!.map((p) => p.name)).toEqual(['primerNivel', 'segundoTercerNivel']);

  const farmacia = await roleToken('pharmacy', { clues: 'DFSSA000001' }, 'farmacia-demo');
  const queue = JSON.parse((await t.request({ method: 'GET', url: '/fhir/MedicationRequest/$pharmacy-queue?curp=HELJ780514HJCRPS00', token: farmacia })).body) as { entry: { resource: { id: string; status: string } }[] };
  expect(queue.entry.map((e) => [e.resource.id, e.resource.status])).toEqual([['receta-jose-metformina', 'active']]);
});

test('the demo referral: sent by the UMF to the CMN, its Task created once, a telemedicine consultation on it', async () => {
  const tasks = JSON.parse((await t.request({ method: 'GET', url: '/fhir/Task?focus=ServiceRequest/referencia-jose-cardiologia' })).body) as { entry?: { resource: { status: string; owner: { reference: string } } }[] };
  expect(tasks.entry?.map((e) => [e.resource.status, e.resource.owner.reference])).toEqual([['requested', 'Organization/imss-cmn-siglo-xxi']]);
  const slot = JSON.parse((await t.request({ method: 'GET', url: '/fhir/Slot/cardio-cmn-2026-12-10-1600' })).body) as { status: string };
  expect(slot.status).toBe('busy');
  const visit = JSON.parse((await t.request({ method: 'GET', url: '/fhir/Encounter/teleconsulta-jose-cardiologia' })).body) as { class: { code: string } };
  expect(visit.class.code).toBe('VR');
});
