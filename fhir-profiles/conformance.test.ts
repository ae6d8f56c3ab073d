import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Bundle, SearchParameter } from '@medplum/fhirtypes';
import { evalFhirPath } from '@medplum/core';
import { expect, test } from 'vitest';
import { mxFixture } from '../test/fixtures/mx/index.ts';
import { generateConformance, generatedFile, profilesDir } from './build.ts';

test('generated/conformance.json is what fhir-snapshot-generator makes of src/ today (run npm run profiles)', { timeout: 60_000 }, async () => {
  const fresh = await generateConformance(path.join(os.tmpdir(), `ecu-fhir-packages-test-${process.pid}`));
  const committed = JSON.parse(readFileSync(generatedFile, 'utf8')) as Bundle;
  expect(committed.meta?.tag).toEqual(fresh.meta?.tag);
  expect(JSON.parse(JSON.stringify(fresh))).toEqual(committed);
});

test('search-parameters.json: curp, expediente and clues pick the right identifier of the fixtures', () => {
  const bundle = JSON.parse(readFileSync(path.join(profilesDir, 'search-parameters.json'), 'utf8')) as Bundle<SearchParameter>;
  const byCode = (code: string, base: string) => bundle.entry?.find((e) => e.resource?.code === code && e.resource.base?.includes(base as never))?.resource?.expression ?? '';
  const patient = mxFixture('patient.json');
  expect(evalFhirPath(byCode('curp', 'Patient'), patient)).toEqual([expect.objectContaining({ value: 'VIRB840210MDFGMN05' })]);
  expect(evalFhirPath(byCode('expediente', 'Patient'), patient)).toEqual([expect.objectContaining({ value: 'QUNCB3104' })]);
  expect(evalFhirPath(byCode('clues', 'Organization'), mxFixture('organization.json'))).toEqual([expect.objectContaining({ value: 'DFIST000011' })]);
});
