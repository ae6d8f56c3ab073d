/**
 * The receta measure over a known week (own database, the server's clock
 * moved): three recetas signed on Monday 30 Nov 2026 at one unit (one of
 * them group II), two dispenses counted, one line expiring on Friday unfilled;
 * a receta of the week before that must not count.
 */
import type { MeasureReport, MeasureReportGroup } from '@medplum/fhirtypes';
import { beforeAll, expect, test } from 'vitest';
import { uniqueTag, useTestApp } from '../support/app.ts';
import { catalogMedication, dispense, draft, prescribeKey, recetaWorld, signed, type RecetaWorld } from '../support/receta.ts';
import { specialFolioSystem } from '../../src/receta/systems.ts';
import { roleToken } from '../support/tokens.ts';

let now = new Date('2026-11-23T16:00:00Z');
const t = useTestApp({ ownDatabase: true, profileEnforcement: 'strict', clock: () => now });
let w: RecetaWorld;

function strata(group: MeasureReportGroup | undefined, code: string): string[] {
  const s = group?.stratifier?.find((x) => x.code?.[0]?.coding?.[0]?.code === code);
  return (s?.stratum ?? []).map((x) => `${x.value ? (x.value.coding?.[0]?.code ?? '') : (x.component ?? []).map((c) => c.value.coding?.[0]?.code ?? '').join('+')}=${x.population?.[0]?.count ?? '?'}`);
}

beforeAll(async () => {
  w = await recetaWorld(t, `DFIST${String(Date.now() % 1e6).padStart(6, '0')}`);
  const metilfenidato = (await catalogMedication(t, 'II', 'Metilfenidato 10 mg tabletas')).key;
  await signed(t, w, draft(w)); // the week before
  now = new Date('2026-11-30T16:00:00Z');
  const a = await signed(t, w, draft(w));
  const b = await signed(t, w, draft(w, (m) => (m.dispenseRequest = { ...m.dispenseRequest, validityPeriod: { start: '2026-11-30', end: '2026-12-04T12:00:00Z' } })));
  const c = await signed(t, w, draft(w, (m) => {
    prescribeKey(m, metilfenidato, 'Metilfenidato 10 mg tabletas');
    m.identifier = [{ system: specialFolioSystem, value: `CB-${uniqueTag()}` }];
    m.dispenseRequest = { quantity: { value: 2, unit: 'tableta' }, numberOfRepeatsAllowed: 0, expectedSupplyDuration: { value: 10, unit: 'd', system: 'http://unitsofmeasure.org', code: 'd' } };
  }));
  now = new Date('2026-12-01T16:00:00Z');
  for (const id of [a.request.id, c.request.id]) {
    const res = await dispense(t, id ?? '', c.request.id === id ? 2 : 1, w.pharmacy);
    if (res.statusCode !== 201) throw new Error(res.body);
  }
  void b;
  now = new Date('2026-12-08T12:00:00Z');
}, 60_000);

test('recetas issued, dispensed and expired by unit, controlled dispensations by group', async () => {
  const auditor = await roleToken('auditor', {}, 'auditor-recetas');
  const res = await t.request({ method: 'GET', url: '/fhir/Measure/recetas/$evaluate-measure?periodStart=2026-11-30&periodEnd=2026-12-06', token: auditor });
  expect(res.statusCode, res.body).toBe(200);
  const g = (res.json() as MeasureReport).group?.[0];
  expect(g?.population?.[0]?.count).toBe(6);
  expect(strata(g, 'evento')).toEqual(['emitida=3', 'surtida=2', 'vencida=1']);
  expect(strata(g, 'unidad-evento')).toEqual([`${w.clues}+emitida=3`, `${w.clues}+surtida=2`, `${w.clues}+vencida=1`]);
  expect(strata(g, 'evento-grupo')).toEqual(['emitida+sin-dato=2', 'emitida+II=1', 'surtida+II=1', 'surtida+sin-dato=1', 'vencida+sin-dato=1']);
  expect(strata(g, 'dia')).toEqual(['2026-11-30=3', '2026-12-01=2', '2026-12-04=1']);
  // Another unit's token sees none of them.
  const other = await roleToken('auditor', { clues: 'JCIST999999' }, 'auditor-otra');
  const none = await t.request({ method: 'GET', url: '/fhir/Measure/recetas/$evaluate-measure?periodStart=2026-11-30&periodEnd=2026-12-06&stratifier=evento', token: other });
  expect((none.json() as MeasureReport).group?.[0]?.population?.[0]?.count).toBe(0);
});

test('dispenses come from MedicationDispense records: a token that may not read them counts none', async () => {
  const narrow = await roleToken('auditor', { scope: 'user/MedicationRequest.rs' }, 'auditor-sin-surtidos');
  const res = await t.request({ method: 'GET', url: '/fhir/Measure/recetas/$evaluate-measure?periodStart=2026-11-30&periodEnd=2026-12-06&stratifier=evento', token: narrow });
  expect(res.statusCode, res.body).toBe(200);
  const g = (res.json() as MeasureReport).group?.[0];
  expect(g?.population?.[0]?.count).toBe(4);
  expect(strata(g, 'evento')).toEqual(['emitida=3', 'vencida=1']);
  // Dispenses readable only in one patient's compartment are not "every dispense": still none counted.
  const compartment = await roleToken('auditor', { scope: 'user/MedicationRequest.rs patient/MedicationDispense.rs', patient: 'alguien' }, 'auditor-compartimento');
  const partial = await t.request({ method: 'GET', url: '/fhir/Measure/recetas/$evaluate-measure?periodStart=2026-11-30&periodEnd=2026-12-06&stratifier=evento', token: compartment });
  expect(strata((partial.json() as MeasureReport).group?.[0], 'evento')).toEqual(['emitida=3', 'vencida=1']);
});
