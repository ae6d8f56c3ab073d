import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import { mxFixture, mxFixtureFiles } from '../../test/fixtures/mx/index.ts';
import { validateBase } from './validate-base.ts';
import { validateProfiles, type ProfileValidationOptions } from './validate-profiles.ts';

const all = new Map<string, Resource>(mxFixtureFiles.map((f) => mxFixture(f)).map((r) => [`${r.resourceType}/${r.id}`, r]));
const strict: ProfileValidationOptions = { enforcement: 'strict', resolve: async (ref) => all.get(ref) };

function errors(issues: OperationOutcomeIssue[]): string[] {
  return issues.filter((i) => i.severity === 'error').map((i) => `${i.expression?.join(',') ?? ''}: ${i.details?.text ?? ''}`);
}

describe('validateProfiles on the ISSSTE ECU patient', () => {
  test.each(mxFixtureFiles)('%s passes base and MX profile validation', async (file) => {
    const r = mxFixture(file);
    expect(validateBase(r, r.resourceType)).toEqual([]);
    expect(errors(await validateProfiles(r, strict))).toEqual([]);
    // The first one compiles the profiles: over vitest's 5 s default when the machine's two cores are shared.
  }, 30_000);

  test('CURP with a wrong check digit', async () => {
    const p = mxFixture('patient.json') as { identifier: { value: string }[] } & Resource;
    p.identifier[0]!.value = 'VIRB840210MDFGMN06';
    expect(errors(await validateProfiles(p, strict))).toEqual(['Patient.identifier[0].value: CURP inválida: el dígito verificador debe ser 5, no 6 / Invalid CURP: check digit must be 5, not 6']);
  });

  test('CURP birth date and sex must agree with birthDate and gender', async () => {
    const p = { ...mxFixture('patient.json'), birthDate: '1984-02-11', gender: 'male' } as Resource;
    const found = errors(await validateProfiles(p, strict));
    expect(found).toHaveLength(2);
    expect(found[0]).toMatch(/^Patient.birthDate,Patient.identifier\[0\].value: La CURP VIRB840210MDFGMN05 indica fecha de nacimiento 1984-02-10, pero Patient.birthDate es 1984-02-11/);
    expect(found[1]).toMatch(/indica sexo M \(female\), pero Patient.gender es male/);
    const lenient = await validateProfiles(p, { ...strict, curpConsistency: 'warning' });
    expect(errors(lenient)).toEqual([]);
  });

  test('no CURP needs a coded reason, and a reason excludes a CURP', async () => {
    const p = mxFixture('patient.json') as Resource & { identifier: unknown[]; extension: unknown[] };
    p.identifier.shift();
    const noCurp = errors(await validateProfiles(p, strict));
    expect(noCurp).toEqual([expect.stringMatching(/^Patient: No se cumple la regla mx-pat-1/)]);
    // The message says how to fix it: the CURP system, the absence-reason extension and its codes.
    expect(noCurp[0]).toContain('system urn:oid:2.16.840.1.113883.4.629');
    expect(noCurp[0]).toContain('https://ecu-fhir.org/fhir/StructureDefinition/mx-curp-absence-reason');
    expect(noCurp[0]).toMatch(/motivo-sin-curp: recien-nacido, extranjero o desconocido/);
    p.extension.push({ url: 'https://ecu-fhir.org/fhir/StructureDefinition/mx-curp-absence-reason', valueCodeableConcept: { coding: [{ system: 'https://ecu-fhir.org/fhir/CodeSystem/motivo-sin-curp', code: 'recien-nacido' }] } });
    expect(errors(await validateProfiles(p, strict))).toEqual([]);
    p.extension[2] = { url: 'https://ecu-fhir.org/fhir/StructureDefinition/mx-curp-absence-reason', valueCodeableConcept: { coding: [{ system: 'https://ecu-fhir.org/fhir/CodeSystem/motivo-sin-curp', code: 'olvido' }] } };
    expect(errors(await validateProfiles(p, strict))).toEqual([expect.stringMatching(/valueCodeableConcept debe llevar un código del conjunto https:\/\/ecu-fhir.org\/fhir\/ValueSet\/motivo-sin-curp/)]);
  });

  test('a CURP under the wrong system (or none) names the CURP system', async () => {
    const p = mxFixture('patient.json') as Resource & { identifier: { system?: string }[] };
    p.identifier[0]!.system = 'http://renapo.gob.mx/curp';
    const found = errors(await validateProfiles(p, strict));
    expect(found).toContainEqual(expect.stringMatching(/^Patient.identifier\[0\].system: VIRB840210MDFGMN05 parece una CURP, pero una CURP se envía con system urn:oid:2.16.840.1.113883.4.629 \(llegó "http:\/\/renapo.gob.mx\/curp"\)/));
    delete p.identifier[0]!.system;
    expect(errors(await validateProfiles(p, strict))).toContainEqual(expect.stringMatching(/identifier\[0\].system: .*parece una CURP.*\(no trae system\)/));
  });

  test('expediente without its system, or with a system whose CLUES is wrong', async () => {
    const p = mxFixture('patient.json') as Resource & { identifier: { system?: string }[] };
    delete p.identifier[1]!.system;
    expect(errors(await validateProfiles(p, strict)).join('\n')).toMatch(/Patient.identifier\[1\].system: El número de expediente QUNCB3104 \(type MR\) debe llevar system https:\/\/ecu-fhir.org\/fhir\/sid\/expediente\/\{CLUES\}/);
    p.identifier[1]!.system = 'https://ecu-fhir.org/fhir/sid/expediente/ZZIST000011';
    expect(errors(await validateProfiles(p, strict))).toEqual([expect.stringMatching(/debe terminar en la CLUES .* entidad federativa/)]);
  });

  test('family name, birthDate and gender are required', async () => {
    const p = { ...mxFixture('patient.json'), name: [{ given: ['Berta'] }] } as Resource;
    delete (p as { birthDate?: string }).birthDate;
    const found = errors(await validateProfiles(p, strict));
    expect(found.map((f) => f.split(':')[0])).toEqual(['Patient.name[0].family', 'Patient.birthDate']);
  });

  test('a vital sign in the wrong unit', async () => {
    const o = mxFixture('observation-weight.json') as Resource & { valueQuantity: { code: string; unit: string; value: number } };
    o.valueQuantity = { ...o.valueQuantity, value: 156.5, unit: 'lb', code: '[lb_av]' };
    expect(errors(await validateProfiles(o, strict))).toEqual(['Observation.valueQuantity.code: Observation.valueQuantity.code debe ser "kg" según el perfil Peso corporal; llegó "[lb_av]" / Observation.valueQuantity.code must be "kg" per profile Peso corporal; got "[lb_av]"']);
  });

  test('BMI inconsistent with weight and height beyond rounding', async () => {
    const o = mxFixture('observation-bmi.json') as Resource & { valueQuantity: { value: number } };
    o.valueQuantity.value = 27.4;
    expect(errors(await validateProfiles(o, strict))).toEqual([]);
    o.valueQuantity.value = 28.1;
    expect(errors(await validateProfiles(o, strict))).toEqual([expect.stringMatching(/IMC 28.1 kg\/m2 no corresponde a peso 71 kg y talla 161 cm \(derivedFrom\): debe ser 27.39 kg\/m2/)]);
  });

  test('family history with an uncoded relationship, or a condition coded outside CIE-10', async () => {
    const f = { ...mxFixture('family-member-history-mother.json'), relationship: { text: 'mamá' } } as Resource;
    const found = errors(await validateProfiles(f, strict)).join('\n');
    expect(found).toMatch(/FamilyMemberHistory.relationship debe llevar un código del conjunto https:\/\/ecu-fhir.org\/fhir\/ValueSet\/parentesco/);
    expect(found).toMatch(/coding:roleCode/);
    const g = mxFixture('family-member-history-mother.json') as Resource & { condition: { code: unknown }[] };
    g.condition[0]!.code = { coding: [{ system: 'http://snomed.info/sct', code: '363346000' }] };
    expect(errors(await validateProfiles(g, strict))).toEqual([expect.stringMatching(/mx-fmh-1 .* CIE-10/)]);
  });

  test('prescription: requester must be a Practitioner with cédula; dosage and dispense required', async () => {
    const m = mxFixture('medication-request.json') as Resource & Record<string, unknown>;
    m.requester = { reference: 'Organization/issste-cmf-narvarte' };
    expect(errors(await validateProfiles(m, strict))).toEqual([expect.stringMatching(/^MedicationRequest.requester: requester "Organization\/issste-cmf-narvarte" no es un Practitioner/)]);
    const noCedula = new Map(all).set('Practitioner/sin-cedula', { resourceType: 'Practitioner', id: 'sin-cedula', name: [{ family: 'X' }] });
    m.requester = { reference: 'Practitioner/sin-cedula' };
    expect(errors(await validateProfiles(m, { ...strict, resolve: async (r) => noCedula.get(r) }))).toEqual([expect.stringMatching(/no tiene cédula profesional válida/)]);
    m.requester = { reference: 'Practitioner/nadie' };
    expect(errors(await validateProfiles(m, strict))).toEqual([expect.stringMatching(/"Practitioner\/nadie" no existe/)]);
    delete m.requester;
    delete m.dosageInstruction;
    delete m.dispenseRequest;
    expect(errors(await validateProfiles(m, strict)).map((e) => e.split(':')[0])).toEqual(['MedicationRequest.requester', 'MedicationRequest.dosageInstruction', 'MedicationRequest.dispenseRequest']);
  });

  test('declared: only meta.profile counts', async () => {
    const plain = { resourceType: 'Patient', gender: 'female' } as Resource;
    expect(await validateProfiles(plain, { enforcement: 'declared' })).toEqual([]);
    expect(errors(await validateProfiles(plain, { enforcement: 'strict' })).length).toBeGreaterThan(0);
    const declared = { ...plain, meta: { profile: ['https://ecu-fhir.org/fhir/StructureDefinition/mx-patient'] } } as Resource;
    expect(errors(await validateProfiles(declared, { enforcement: 'declared' })).length).toBeGreaterThan(0);
    const foreign = { ...plain, meta: { profile: ['http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient'] } } as Resource;
    const issues = await validateProfiles(foreign, { enforcement: 'declared' });
    expect(issues.map((i) => i.severity)).toEqual(['warning']);
  });
});
