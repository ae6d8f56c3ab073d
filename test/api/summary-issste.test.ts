/**
 * The ISSSTE record screen: $resumen-medico and $summary for the screenshot
 * patient give exactly the values on the screen. The records are written by a
 * clinician of the first-level clinic (CLUES DFIST000011), and the mother's
 * cancer is recorded again by the second-level hospital (DFIST000212).
 */
import type { Bundle, Composition, FamilyMemberHistory, Parameters, Patient, Resource } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, test } from 'vitest';
import { validateBase } from '../../src/validation/validate-base.ts';
import { fhirJson, uniqueTag, useTestApp } from '../support/app.ts';
import { absentReason, expectReferencesResolved, param, params, taggedFixtures } from '../support/summary.ts';
import { roleToken } from '../support/tokens.ts';

// Writes the fixture patient (its CURP, shown in the summary) under its own id: one active Patient per CURP, so a database of its own.
const t = useTestApp({ profileEnforcement: 'strict', ownDatabase: true });
const tag = uniqueTag();
const fixtures = taggedFixtures(tag);
const patientId = `paciente-ecu-1-${tag}`;
let clinic: string;
let hospital: string;
let auditor: string;
let motherAtHospital: FamilyMemberHistory;
let motherAtClinic: FamilyMemberHistory;

async function put(r: Resource, token: string) {
  const res = await t.request({ method: 'PUT', url: `/fhir/${r.resourceType}/${r.id}`, headers: fhirJson, payload: r, token });
  expect(res.statusCode, `${r.resourceType}/${r.id}: ${res.body}`).toBeLessThan(300);
  return res.json();
}

beforeAll(async () => {
  clinic = await roleToken('clinician', { clues: 'DFIST000011' }, `medica-cmf-${tag}`);
  hospital = await roleToken('clinician', { clues: 'DFIST000212' }, `medico-hg-${tag}`);
  auditor = await roleToken('auditor', {}, `auditor-${tag}`);
  const admin = await roleToken('admin', {}, `admin-${tag}`);
  for (const r of fixtures) {
    const directory = r.resourceType === 'Organization' || r.resourceType === 'Practitioner';
    const stored = await put(r, directory ? admin : clinic);
    if (r.resourceType === 'FamilyMemberHistory') motherAtClinic = stored;
  }
  const again = fixtures.find((r) => r.resourceType === 'FamilyMemberHistory') as FamilyMemberHistory;
  motherAtHospital = await put({ ...again, id: `ahf-madre-hg-${tag}`, date: '2026-11-21' }, hospital);
});

async function resumen(query = 'date=2026-11-23', token = auditor): Promise<Parameters> {
  const res = await t.request({ method: 'GET', url: `/fhir/Patient/${patientId}/$resumen-medico?${query}`, token });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

describe('$resumen-medico: the ISSSTE screen', () => {
  test('worker data and affiliation', async () => {
    const r = await resumen();
    expect(param(r, 'fecha')?.valueDate).toBe('2026-11-23');
    expect(param(r, 'paciente.nombre')?.valueString).toBe('Berta Villa Ramírez');
    expect(param(r, 'paciente.curp')?.valueString).toBe('VIRB840210MDFGMN05');
    expect(absentReason(param(r, 'paciente.rfc'))).toBe('unknown');
    expect(param(r, 'paciente.tipoDerechohabiente')?.valueCoding?.code).toBe('trabajador');
    expect(param(r, 'paciente.estadoAfiliacion')?.valueCoding?.code).toBe('activo');
    expect(param(r, 'paciente.unidadAdscripcion.clues')?.valueString).toBe('DFIST000011');
    expect(param(r, 'paciente.unidadAdscripcion.nombre')?.valueString).toBe('Clínica de Medicina Familiar Narvarte (ISSSTE)');
    expect(param(r, 'paciente.unidadAdscripcion.nivelAtencion')?.valueCoding?.code).toBe('1');
    expect(absentReason(param(r, 'paciente.beneficiarios'))).toBe('unknown');
  });

  test('last medical attention: unit, CLUES, level of care and date', async () => {
    const r = await resumen();
    expect(param(r, 'ultimaAtencion.encuentro')?.valueReference?.reference).toBe(`Encounter/consulta-1-${tag}`);
    expect(param(r, 'ultimaAtencion.fecha')?.valueDateTime).toBe('2026-11-20T10:15:00-06:00');
    expect(param(r, 'ultimaAtencion.nombre')?.valueString).toBe('Clínica de Medicina Familiar Narvarte (ISSSTE)');
    expect(param(r, 'ultimaAtencion.clues')?.valueString).toBe('DFIST000011');
    expect(param(r, 'ultimaAtencion.nivelAtencion')?.valueCoding).toMatchObject({ code: '1', display: 'Primer nivel' });
  });

  test('medical summary: age 42 on the screen date, O positive, sex, expediente QUNCB3104', async () => {
    const r = await resumen();
    expect(param(r, 'resumenMedico.edad')?.valueAge).toMatchObject({ value: 42, code: 'a' });
    expect(param(r, 'resumenMedico.grupoSanguineo.texto')?.valueString).toBe('O+');
    expect(param(r, 'resumenMedico.grupoSanguineo.valor')?.valueCoding).toMatchObject({ system: 'http://snomed.info/sct', code: '278147001' });
    expect(param(r, 'resumenMedico.grupoSanguineo.observacion')?.valueReference?.reference).toBe(`Observation/grupo-sanguineo-1-${tag}`);
    expect(param(r, 'resumenMedico.sexo')?.valueCoding).toMatchObject({ code: 'female', display: 'Mujer' });
    expect(params(r, 'resumenMedico.expediente').map((e) => e.valueIdentifier)).toEqual([{ system: 'https://ecu-fhir.org/fhir/sid/expediente/DFIST000011', value: 'QUNCB3104' }]);
    // Age is computed on the requested day: the day before the 2027 birthday she is still 42, on it 43.
    expect(param(await resumen('date=2027-02-09'), 'resumenMedico.edad')?.valueAge?.value).toBe(42);
    expect(param(await resumen('date=2027-02-10'), 'resumenMedico.edad')?.valueAge?.value).toBe(43);
  });

  test('last vital signs with their date and Observation', async () => {
    const r = await resumen();
    const when = '2026-11-20T10:30:00-06:00';
    const sign = (key: string) => ({ value: param(r, `signosVitales.${key}.valor`)?.valueQuantity, when: param(r, `signosVitales.${key}.fecha`)?.valueDateTime });
    expect(sign('peso')).toEqual({ value: { value: 71, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' }, when });
    expect(sign('talla').value?.value).toBe(161);
    expect(sign('talla').value?.code).toBe('cm');
    expect(sign('temperatura').value).toMatchObject({ value: 36.1, code: 'Cel' });
    expect(sign('imc').value).toMatchObject({ value: 27.39, code: 'kg/m2' });
    expect(sign('frecuenciaCardiaca').value).toMatchObject({ value: 72, code: '/min' });
    expect(param(r, 'signosVitales.presionArterial.sistolica')?.valueQuantity).toMatchObject({ value: 121, code: 'mm[Hg]' });
    expect(param(r, 'signosVitales.presionArterial.diastolica')?.valueQuantity).toMatchObject({ value: 81, code: 'mm[Hg]' });
    expect(param(r, 'signosVitales.peso.observacion')?.valueReference?.reference).toBe(`Observation/peso-1-${tag}`);
    expect(param(r, 'signosVitales.ultimaActualizacion')?.valueDateTime).toBe(when);
    // Not on the screen and not in the record: explicit, never invented.
    expect(absentReason(param(r, 'signosVitales.frecuenciaRespiratoria'))).toBe('unknown');
    expect(absentReason(param(r, 'signosVitales.saturacionOxigeno'))).toBe('unknown');
  });

  test('antecedentes: mother with cancer in the first-level and in the second/third-level blocks, each with its last update', async () => {
    const r = await resumen();
    const first = param(r, 'antecedentes.primerNivel.heredoFamiliares');
    const second = param(r, 'antecedentes.segundoTercerNivel.heredoFamiliares');
    expect(first?.part?.filter((p) => p.name === 'registro').map((p) => param(p, 'texto')?.valueString)).toEqual(['Madre — Cáncer']);
    expect(second?.part?.filter((p) => p.name === 'registro').map((p) => param(p, 'texto')?.valueString)).toEqual(['Madre — Cáncer']);
    expect(param(first!, 'ultimaActualizacion')?.valueInstant).toBe(motherAtClinic.meta?.lastUpdated);
    expect(param(second!, 'ultimaActualizacion')?.valueInstant).toBe(motherAtHospital.meta?.lastUpdated);
    expect(param(first!, 'registro.recurso')?.valueReference?.reference).toBe(`FamilyMemberHistory/ahf-madre-1-${tag}`);
    expect(param(second!, 'registro.unidad')?.valueString).toBe('Hospital General Tacuba (ISSSTE)');
    expect(param(second!, 'registro.fecha')?.valueDateTime).toBe('2026-11-21');
    for (const block of ['primerNivel', 'segundoTercerNivel']) {
      for (const group of ['patologicos', 'noPatologicos', 'ginecoObstetricos']) {
        expect(absentReason(param(r, `antecedentes.${block}.${group}`)), `${block}.${group}`).toBe('unknown');
      }
    }
    // Every record's unit is known, so there is no third block.
    expect(param(r, 'antecedentes.nivelDesconocido')).toBeUndefined();
  });

  test('the writer\'s unit is stamped on each record, and a clinician cannot claim another unit', async () => {
    const unit = (r: { meta?: { extension?: { url: string }[] } }) => r.meta?.extension?.filter((e) => e.url === 'https://ecu-fhir.org/fhir/StructureDefinition/mx-unidad-autora');
    expect(unit(motherAtClinic)).toEqual([{ url: 'https://ecu-fhir.org/fhir/StructureDefinition/mx-unidad-autora', valueIdentifier: { system: 'urn:oid:2.16.840.1.113883.4.631', value: 'DFIST000011' } }]);
    const forged = await put({ ...motherAtHospital, id: `ahf-forjada-${tag}`, meta: { extension: unit(motherAtClinic) } }, hospital);
    expect(unit(forged)).toEqual([{ url: 'https://ecu-fhir.org/fhir/StructureDefinition/mx-unidad-autora', valueIdentifier: { system: 'urn:oid:2.16.840.1.113883.4.631', value: 'DFIST000212' } }]);
  });

  test('the answer is a valid Parameters resource', async () => {
    expect(validateBase(await resumen(), 'Parameters')).toEqual([]);
  });
});

describe('$summary: the same patient as an International Patient Summary document', () => {
  test('a valid document Bundle, Composition first, Spanish narrative, references resolved inside it', async () => {
    const res = await t.request({ method: 'GET', url: `/fhir/Patient/${patientId}/$summary`, token: auditor });
    expect(res.statusCode, res.body).toBe(200);
    const bundle = res.json() as Bundle;
    expect(bundle.type).toBe('document');
    expect(validateBase(bundle, 'Bundle')).toEqual([]);
    const composition = bundle.entry?.[0]?.resource as Composition;
    expect(composition.resourceType).toBe('Composition');
    expect(composition.subject?.reference).toBe(`Patient/${patientId}`);
    const byCode = new Map(composition.section?.map((s) => [s.code?.coding?.[0]?.code, s]));
    expect([...byCode.keys()]).toEqual(['11450-4', '48765-2', '10160-0', '8716-3', '30954-2', '10157-6']);
    expect(byCode.get('11450-4')?.emptyReason?.coding?.[0]?.code).toBe('unavailable');
    expect(byCode.get('8716-3')?.text?.div).toContain('121/81 mmHg');
    expect(byCode.get('8716-3')?.text?.div).toContain('Peso');
    expect(byCode.get('10157-6')?.text?.div).toContain('Madre — Cáncer');
    expect(byCode.get('10160-0')?.text?.div).toContain('Paracetamol 500 mg tabletas');
    expect(byCode.get('30954-2')?.entry).toEqual([{ reference: `Observation/grupo-sanguineo-1-${tag}` }]);
    expectReferencesResolved(bundle);
  });

  test('identifier may replace the id', async () => {
    const curp = uniqueCurp();
    const id = `curp-${tag}`;
    const expediente = (fixtures.find((r) => r.resourceType === 'Patient') as Patient).identifier?.[1];
    await put({ resourceType: 'Patient', id, identifier: [{ system: 'urn:oid:2.16.840.1.113883.4.629', value: curp }, expediente!], name: [{ family: 'Villa', given: ['Berta'] }], gender: 'female', birthDate: '1984-02-10' }, clinic);
    const res = await t.request({ method: 'GET', url: `/fhir/Patient/$summary?identifier=${encodeURIComponent(`urn:oid:2.16.840.1.113883.4.629|${curp}`)}`, token: auditor });
    expect(res.statusCode, res.body).toBe(200);
    expect((res.json().entry[0].resource as Composition).subject?.reference).toBe(`Patient/${id}`);
    const resumen = await t.request({ method: 'GET', url: `/fhir/Patient/$resumen-medico?identifier=${encodeURIComponent(`urn:oid:2.16.840.1.113883.4.629|${curp}`)}`, token: auditor });
    expect(param(resumen.json(), 'paciente.paciente')?.valueReference?.reference).toBe(`Patient/${id}`);
    expect((await t.request({ method: 'GET', url: '/fhir/Patient/$summary?identifier=urn:oid:2.16.840.1.113883.4.629|NOEXISTE', token: auditor })).statusCode).toBe(404);
    expect((await t.request({ method: 'GET', url: '/fhir/Patient/$summary?identifier=VIRB840210MDFGMN05', token: auditor })).statusCode).toBe(400);
    expect((await t.request({ method: 'GET', url: '/fhir/Patient/$summary', token: auditor })).statusCode).toBe(400);
  });
});

/** A valid CURP no other test uses (random internal consonants, check digit computed). */
function uniqueCurp(): string {
  const consonants = 'BCDFGHJKLMNPQRSTVWXYZ';
  const pick = () => consonants[Math.floor(Math.random() * consonants.length)];
  const first17 = `VIRB840210MDF${pick()}${pick()}${pick()}0`;
  const alphabet = '0123456789ABCDEFGHIJKLMNÑOPQRSTUVWXYZ';
  const sum = Array.from(first17).reduce((s, c, i) => s + alphabet.indexOf(c) * (18 - i), 0);
  return `${first17}${(10 - (sum % 10)) % 10}`;
}
