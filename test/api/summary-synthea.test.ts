/**
 * $summary and $resumen-medico over Synthea patients (US data, no CURP, so a
 * `declared` server): each loaded with its own transaction Bundle (urn:uuid
 * references only; the smart-generated-sample-data bundles carry their own
 * Organization and Practitioner, so no conditional references are needed).
 * Every summary is a valid document Bundle whose references resolve inside it,
 * and the last vital signs are the newest in the source bundle.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Bundle, Composition, Observation, Parameters } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, test } from 'vitest';
import { validateBase } from '../../src/validation/validate-base.ts';
import { fhirJson, useTestApp } from '../support/app.ts';
import { expectReferencesResolved, param } from '../support/summary.ts';

const t = useTestApp({ profileEnforcement: 'declared' });
const dir = path.resolve(import.meta.dirname, '../fixtures/synthea');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
const loaded = new Map<string, { patientId: string; source: Bundle }>();

beforeAll(async () => {
  for (const file of files) {
    const source = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Bundle;
    const res = await t.request({ method: 'POST', url: '/fhir', headers: fhirJson, payload: source });
    expect(res.statusCode, `${file}: ${res.body.slice(0, 500)}`).toBe(200);
    const location = (res.json() as Bundle).entry?.[source.entry?.findIndex((e) => e.resource?.resourceType === 'Patient') ?? 0]?.response?.location ?? '';
    loaded.set(file, { patientId: /Patient\/([^/]+)/.exec(location)?.[1] ?? '', source });
  }
}, 120_000);

/** The newest value of a LOINC code in the source bundle, computed independently of the server. */
function newestInSource(source: Bundle, code: string): number | undefined {
  const obs = (source.entry ?? [])
    .map((e) => e.resource)
    .filter((r): r is Observation => r?.resourceType === 'Observation' && r.code.coding?.some((c) => c.code === code) === true)
    .sort((a, b) => Date.parse(b.effectiveDateTime ?? '') - Date.parse(a.effectiveDateTime ?? ''));
  return obs[0]?.valueQuantity?.value;
}

describe.each(files)('%s', (file) => {
  test('$summary is a valid document Bundle with resolved references', async () => {
    const { patientId } = loaded.get(file)!;
    const res = await t.request({ method: 'GET', url: `/fhir/Patient/${patientId}/$summary` });
    expect(res.statusCode, res.body.slice(0, 500)).toBe(200);
    const bundle = res.json() as Bundle;
    expect(validateBase(bundle, 'Bundle')).toEqual([]);
    // The same check a client runs with $validate.
    const validated = await t.request({ method: 'POST', url: '/fhir/Bundle/$validate', headers: fhirJson, payload: bundle });
    expect(validated.json().issue).toEqual([expect.objectContaining({ severity: 'information' })]);
    const composition = bundle.entry?.[0]?.resource as Composition;
    expect(composition.resourceType).toBe('Composition');
    expect(composition.section?.slice(0, 3).map((s) => s.code?.coding?.[0]?.code)).toEqual(['11450-4', '48765-2', '10160-0']);
    expect(composition.section?.some((s) => s.code?.coding?.[0]?.code === '8716-3')).toBe(true);
    for (const s of composition.section ?? []) expect(s.text?.div, s.title).toMatch(/^<div xmlns="http:\/\/www.w3.org\/1999\/xhtml">/);
    expectReferencesResolved(bundle);
  });

  test('$resumen-medico: valid Parameters, last vital signs are the newest in the source', async () => {
    const { patientId, source } = loaded.get(file)!;
    const res = await t.request({ method: 'GET', url: `/fhir/Patient/${patientId}/$resumen-medico` });
    expect(res.statusCode).toBe(200);
    const r = res.json() as Parameters;
    expect(validateBase(r, 'Parameters')).toEqual([]);
    expect(param(r, 'signosVitales.peso.valor')?.valueQuantity?.value).toBe(newestInSource(source, '29463-7'));
    expect(param(r, 'signosVitales.talla.valor')?.valueQuantity?.value).toBe(newestInSource(source, '8302-2'));
    expect(param(r, 'ultimaAtencion.encuentro')?.valueReference?.reference).toMatch(/^Encounter\//);
    // Synthea data carries no MX identifiers: explicit absences, not inventions.
    expect(param(r, 'paciente.curp')?.extension?.[0]?.valueCode).toBe('unknown');
  });
});
