import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { evalFhirPathTyped, toTypedValue } from '@medplum/core';
import { describe, expect, test } from 'vitest';
import { corpusResources } from '../../test/support/corpus.ts';
import { compilePath } from './compiled-paths.ts';
import { extractIndexValues } from './extract-index-values.ts';
import { prepareSearchParameters, searchParamsOf } from './search-parameters.ts';

const fixtures = path.resolve(import.meta.dirname, '../../test/fixtures');

/** Every resource of the HL7 R4 examples and the Synthea sample bundles, bundles unpacked. */
function corpus(): Resource[] {
  const out: Resource[] = [];
  const add = (r: Resource | undefined) => {
    if (!r) return;
    out.push(r);
    if (r.resourceType === 'Bundle') for (const e of (r as Bundle).entry ?? []) add(e.resource);
  };
  for (const dir of ['r4-examples', 'synthea']) {
    for (const file of readdirSync(path.join(fixtures, dir)).filter((f) => f.endsWith('.json'))) {
      add(JSON.parse(readFileSync(path.join(fixtures, dir, file), 'utf8')) as Resource);
    }
  }
  return out;
}

describe('extractIndexValues', () => {
  test('skipping parameters whose elements are absent changes no row (HL7 examples and Synthea bundles)', () => {
    const resources = corpus();
    expect(resources.length).toBeGreaterThan(1000);
    for (const resource of resources) {
      expect(extractIndexValues(resource), `${resource.resourceType}/${resource.id}`).toEqual(extractIndexValues(resource, false));
    }
    // ~2 s alone; several times that while the whole suite shares two cores.
  }, 30_000);

  test('compiled paths give the FHIRPath engine\'s typed values, in order, wherever they decide (HL7 examples and both Synthea corpora)', () => {
    let decided = 0;
    let evaluated = 0;
    const all = [...corpus(), ...corpusResources('synthea-corpus'), ...corpusResources('mx')];
    for (const resource of all) {
      const root = toTypedValue(resource);
      for (const param of searchParamsOf(resource.resourceType).values()) {
        const compiled = compilePath(param.expression, resource.resourceType);
        const fhirPath = evalFhirPathTyped(param.expression, [root], { '%resource': root }).map((v) => ({ type: v.type, value: v.value }));
        evaluated++;
        const answer = compiled?.(root);
        if (answer === undefined) continue;
        decided++;
        expect(answer, `${resource.resourceType}/${resource.id} ${param.code}`).toEqual(fhirPath);
      }
    }
    // Compiling is worth it only if it is the common case.
    expect(decided / evaluated).toBeGreaterThan(0.85);
  }, 300_000);

  test('index rows with compiled paths are those of the FHIRPath engine (HL7 examples and both Synthea corpora)', () => {
    for (const resource of [...corpus(), ...corpusResources('synthea-corpus'), ...corpusResources('mx')]) {
      expect(extractIndexValues(resource), `${resource.resourceType}/${resource.id}`).toEqual(extractIndexValues(resource, true, false));
    }
  }, 300_000);

  test('where() criteria with and, or, exists() and startsWith() are compiled (MX expediente)', () => {
    const expediente = searchParamsOf('Patient').get('expediente')!;
    const mr = { type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] }, system: 'urn:example:x', value: 'A1' };
    const bySystem = { system: 'https://ecu-fhir.org/fhir/sid/expediente/DFIST000011', value: 'B2' };
    const neither = { type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'PI' }] }, system: 'urn:example:y', value: 'C3' };
    const root = toTypedValue({ resourceType: 'Patient', identifier: [mr, bySystem, neither] });
    const compiled = compilePath(expediente.expression, 'Patient')?.(root);
    expect(compiled?.map((v) => (v.value as { value: string }).value)).toEqual(['A1', 'B2']);
    expect(compiled).toEqual(evalFhirPathTyped(expediente.expression, [root], { '%resource': root }).map((v) => ({ type: v.type, value: v.value })));
  });

  test('a primitive extension or an unknown property is left to FHIRPath', () => {
    const patient = toTypedValue({ resourceType: 'Patient', birthDate: '1980-01-01', _birthDate: { extension: [{ url: 'http://example.org/x', valueString: 'a' }] } });
    const birthdate = searchParamsOf('Patient').get('birthdate')!;
    expect(compilePath(birthdate.expression, 'Patient')?.(patient)).toBeUndefined();
    expect(compilePath(birthdate.expression, 'Patient')?.(toTypedValue({ resourceType: 'Patient', birthDate: '1980-01-01' }))).toEqual([{ type: 'date', value: '1980-01-01' }]);
  });

  test('a composite repetition with a missing component writes no rows', () => {
    const rows = extractIndexValues({
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
      valueQuantity: { value: 67, code: '/min', system: 'http://unitsofmeasure.org' },
    });
    const params = [...rows.sp_token, ...rows.sp_quantity].map((r) => r.param);
    expect(params).toEqual(expect.arrayContaining(['code-value-quantity$0', 'code-value-quantity$1']));
    expect(params.filter((p) => /^code-value-(concept|date|string)\$/.test(p))).toEqual([]);
  });
});

describe('every R4 search parameter can be evaluated', () => {
  test('none is left out at start-up', () => {
    expect(prepareSearchParameters()).toEqual([]);
  });

  test('MolecularSequence composites read %resource (chromosome-variant-coordinate)', () => {
    const rows = extractIndexValues({
      resourceType: 'MolecularSequence',
      coordinateSystem: 0,
      referenceSeq: { chromosome: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/chromosome-human', code: '1' }] } },
      variant: [{ start: 22125500, end: 22125510 }],
    } as Resource);
    const chromosome = rows.sp_token.filter((r) => r.param === 'chromosome-variant-coordinate$0');
    expect(chromosome.map((r) => r.code)).toEqual(['1']);
    expect(rows.sp_number.filter((r) => r.param === 'chromosome-variant-coordinate$1').map((r) => r.value)).toEqual(['22125500']);
  });
});
