import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import { extractIndexValues } from './extract-index-values.ts';
import { prepareSearchParameters } from './search-parameters.ts';

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
