import { describe, expect, test } from 'vitest';
import { resourceTypes } from '../../src/fhir/definitions.ts';
import { fhirRoutes } from '../../src/fhir/routes.ts';
import { useTestApp } from '../support/app.ts';

const t = useTestApp();

describe('CapabilityStatement', () => {
  test('lists every R4 resource type with exactly the interactions that have routes', async () => {
    const res = await t.request({ method: 'GET', url: '/fhir/metadata' });
    expect(res.statusCode).toBe(200);
    const cs = res.json();
    expect(cs.resourceType).toBe('CapabilityStatement');
    expect(cs.fhirVersion).toBe('4.0.1');
    expect(cs.kind).toBe('instance');
    const rest = cs.rest[0];
    expect(rest.resource.map((r: any) => r.type)).toEqual(resourceTypes());
    expect(rest.resource.length).toBeGreaterThanOrEqual(145);
    const routed: string[] = fhirRoutes.flatMap((r) => (r.interaction && r.interaction !== 'operation' && !r.resourceType ? [r.interaction] : []));
    // POST to the base serves both transaction and batch.
    if (routed.includes('transaction')) routed.push('batch');
    const uniqueRouted = [...new Set(routed)];
    const patientCodes = rest.resource.find((r: any) => r.type === 'Patient').interaction.map((i: any) => i.code);
    const systemCodes = rest.interaction.map((i: any) => i.code);
    expect([...patientCodes, ...systemCodes].sort()).toEqual(uniqueRouted.sort());
    // The audit trail is read-only through the API.
    expect(rest.resource.find((r: any) => r.type === 'AuditEvent').interaction.map((i: any) => i.code).sort()).toEqual(['read', 'search-type']);
  });

  test('each advertised instance interaction really answers (no drift)', async () => {
    const res = await t.request({ method: 'GET', url: '/fhir/metadata' });
    const codes: string[] = res.json().rest[0].resource.find((r: any) => r.type === 'Basic').interaction.map((i: any) => i.code);
    const probes: Record<string, { method: 'GET' | 'PUT' | 'PATCH' | 'DELETE' | 'POST'; url: string }> = {
      read: { method: 'GET', url: '/fhir/Basic/probe' },
      vread: { method: 'GET', url: '/fhir/Basic/probe/_history/1' },
      update: { method: 'PUT', url: '/fhir/Basic/probe' },
      patch: { method: 'PATCH', url: '/fhir/Basic/probe' },
      delete: { method: 'DELETE', url: '/fhir/Basic/probe' },
      'history-instance': { method: 'GET', url: '/fhir/Basic/probe/_history' },
      'history-type': { method: 'GET', url: '/fhir/Basic/_history' },
      create: { method: 'POST', url: '/fhir/Basic' },
      'search-type': { method: 'GET', url: '/fhir/Basic' },
    };
    for (const code of codes) {
      const probe = probes[code];
      expect(probe, `no probe for advertised interaction ${code}`).toBeDefined();
      const answer = await t.request({ ...probe!, headers: { 'content-type': 'application/fhir+json' }, payload: '{}' });
      expect([405, 501], `${code} is advertised but not routed`).not.toContain(answer.statusCode);
    }
  });
});

describe('CapabilityStatement search', () => {
  test('lists search parameters, includes and revincludes per type from the same definitions, and conditional support', async () => {
    const cs = (await t.request({ method: 'GET', url: '/fhir/metadata' })).json();
    const patient = cs.rest[0].resource.find((r: any) => r.type === 'Patient');
    expect(patient.searchParam).toEqual(expect.arrayContaining([{ name: 'birthdate', type: 'date' }, { name: 'identifier', type: 'token' }, { name: '_lastUpdated', type: 'date' }]));
    expect(patient.searchInclude).toContain('Patient:general-practitioner');
    expect(patient.searchRevInclude).toContain('Observation:subject');
    expect(patient.conditionalCreate).toBe(true);
    expect(patient.conditionalUpdate).toBe(true);
    expect(patient.conditionalDelete).toBe('single');
    const observation = cs.rest[0].resource.find((r: any) => r.type === 'Observation');
    expect(observation.searchParam).toContainEqual({ name: 'component-code-value-quantity', type: 'composite' });
  });
});

test('every route but metadata names its interaction, so none escapes authorization and audit', () => {
  const unnamed = fhirRoutes.filter((r) => !r.interaction).map((r) => `${r.method} ${r.path}`);
  expect(unnamed).toEqual(['GET /metadata']);
});
