import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import { validateBase } from './validate-base.ts';

function paths(issues: OperationOutcomeIssue[]): string[] {
  return issues.flatMap((i) => i.expression ?? []).sort();
}

function textAt(issues: OperationOutcomeIssue[], path: string): string {
  return issues.find((i) => i.expression?.includes(path))?.details?.text ?? '';
}

describe('validateBase', () => {
  test('a valid patient has no issues', () => {
    const patient = {
      resourceType: 'Patient',
      id: 'p-1.a',
      gender: 'female',
      birthDate: '1980-12-31',
      name: [{ use: 'official', family: 'López', given: ['Ana'] }],
      telecom: [{ system: 'phone', value: '5555555555', use: 'mobile' }],
      contact: [{ gender: 'male', name: { family: 'Pérez' } }],
    };
    expect(validateBase(patient, 'Patient')).toEqual([]);
    // The first validation loads the R4 definitions: over vitest's 5 s default when the two cores are shared.
  }, 30_000);

  test('reports one issue per problem, each with its path and a Spanish then English message', () => {
    const issues = validateBase({ resourceType: 'Patient', gender: 'mujer', birthDate: '31/12/1980', foo: 1 }, 'Patient');
    expect(paths(issues)).toEqual(['Patient.birthDate', 'Patient.foo', 'Patient.gender']);
    expect(issues.find((i) => i.expression?.[0] === 'Patient.gender')?.code).toBe('code-invalid');
    expect(textAt(issues, 'Patient.gender')).toMatch(/^Código "mujer" no permitido .* male, female, other, unknown .* \/ Code "mujer" is not allowed/);
    expect(textAt(issues, 'Patient.birthDate')).toMatch(/^Formato date inválido .* \/ Invalid date format/);
    expect(textAt(issues, 'Patient.foo')).toMatch(/^Elemento desconocido "foo" .* \/ Invalid additional property "foo"/);
  });

  test('checks required bindings inside data types and backbone elements', () => {
    const issues = validateBase({ resourceType: 'Patient', name: [{ use: 'x', family: 'A' }], contact: [{ gender: 'f', name: { family: 'B' } }] }, 'Patient');
    expect(paths(issues)).toEqual(['Patient.contact[0].gender', 'Patient.name[0].use']);
  });

  test('checks required bindings in choice types and contained resources', () => {
    const observation = {
      resourceType: 'Observation',
      status: 'done',
      code: { text: 'peso' },
      valueQuantity: { value: 70, comparator: '<<' },
      contained: [{ resourceType: 'Patient', id: 'c1', gender: 'hombre' }],
    };
    expect(paths(validateBase(observation, 'Observation'))).toEqual([
      'Observation.contained[0].gender',
      'Observation.status',
      'Observation.valueQuantity.comparator',
    ]);
  });

  test('checks bindings of resources inside bundles', () => {
    const bundle = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: { resourceType: 'Patient', gender: 'M' } }] };
    expect(paths(validateBase(bundle, 'Bundle'))).toEqual(['Bundle.entry[0].resource.gender']);
  });

  test('does not reject codes from value sets it cannot expand (e.g. filters on external systems)', () => {
    // Observation.valueCodeableConcept and Patient.communication.language are not required `code` bindings; languages are BCP-47.
    const patient = { resourceType: 'Patient', communication: [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'es-MX' }] } }] };
    expect(validateBase(patient, 'Patient')).toEqual([]);
  });

  test('names the concrete property of a choice element, not value[x]', () => {
    const issues = validateBase({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, effectiveDateTime: '2020-13-01', valueQuantity: { value: 'x' } }, 'Observation');
    expect(paths(issues)).toEqual(['Observation.effectiveDateTime', 'Observation.valueQuantity.value']);
    expect(textAt(issues, 'Observation.valueQuantity.value')).toMatch(/se esperaba number y llegó string/);
  });

  test('wrong types, arrays and cardinality', () => {
    const issues = validateBase({ resourceType: 'Patient', name: { family: 'A' }, gender: ['female'], active: 'yes' }, 'Patient');
    expect(paths(issues)).toEqual(['Patient.active', 'Patient.gender', 'Patient.name']);
    const missing = validateBase({ resourceType: 'Observation', status: 'final' }, 'Observation');
    expect(paths(missing)).toEqual(['Observation.code']);
    expect(textAt(missing, 'Observation.code')).toMatch(/^Falta el elemento obligatorio Observation.code/);
  });

  test('invariants are reported with their key', () => {
    const issues = validateBase({ resourceType: 'Patient', contact: [{ gender: 'male' }] }, 'Patient');
    expect(textAt(issues, 'Patient.contact[0]')).toMatch(/pat-1/);
  });

  test('id format is checked on the resource and its contained resources', () => {
    expect(paths(validateBase({ resourceType: 'Patient', id: 'a b' }, 'Patient'))).toEqual(['Patient.id']);
    expect(paths(validateBase({ resourceType: 'Patient', id: 'x'.repeat(65) }, 'Patient'))).toEqual(['Patient.id']);
    expect(paths(validateBase({ resourceType: 'Patient', contained: [{ resourceType: 'Organization', id: '#1', name: 'X' }] }, 'Patient'))).toEqual(['Patient.contained[0].id']);
  });

  test('shape: not an object, no resourceType, unknown type, type mismatch', () => {
    expect(validateBase([1], 'Patient')[0]?.code).toBe('structure');
    expect(validateBase('x', 'Patient')[0]?.code).toBe('structure');
    expect(validateBase({}, 'Patient')[0]?.expression).toEqual(['resourceType']);
    expect(validateBase({ resourceType: 'Paciente' }, 'Patient')[0]?.details?.text).toMatch(/resourceType desconocido "Paciente"/);
    expect(validateBase({ resourceType: 'Observation' }, 'Patient')[0]?.details?.text).toMatch(/no coincide con la URL/);
  });
});
