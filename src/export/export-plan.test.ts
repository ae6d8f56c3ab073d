import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from 'kysely';
import { describe, expect, test } from 'vitest';
import { actorFromClaims } from '../auth/actor.ts';
import type { Database } from '../store/database.ts';
import { planTypes } from './export-plan.ts';
import { exportQuery } from './export-query.ts';

const db = new Kysely<Database>({
  dialect: { createAdapter: () => new PostgresAdapter(), createDriver: () => new DummyDriver(), createIntrospector: (d) => new PostgresIntrospector(d), createQueryCompiler: () => new PostgresQueryCompiler() },
});
const all = ['Encounter', 'Observation', 'Patient', 'Practitioner'];

describe('planTypes: what a token may export', () => {
  test('a system/*.rs token exports every candidate type, unrestricted', () => {
    expect(planTypes(actorFromClaims({ scope: 'system/*.rs' }), undefined, all)).toEqual({ unrestricted: all, patientScoped: [] });
  });

  test('without _type only readable types are exported; with _type an unreadable one is a 403', () => {
    const pharmacy = actorFromClaims({ role: 'pharmacy' });
    expect(planTypes(pharmacy, undefined, all).unrestricted).toEqual(['Patient', 'Practitioner']);
    expect(() => planTypes(pharmacy, ['Patient', 'Observation'], all)).toThrow(/Observation/);
  });

  test('patient/ scopes hold every type to the token patient; a token with no readable type gets 403', () => {
    expect(planTypes(actorFromClaims({ role: 'patient', patient: 'p1' }), ['Observation'], all)).toEqual({ unrestricted: [], patientScoped: ['Observation'], patient: 'p1' });
    expect(() => planTypes(actorFromClaims({ role: 'patient' }), ['Observation'], all)).toThrow(/patient/);
    expect(() => planTypes(actorFromClaims({ scope: 'system/Patient.c' }), undefined, all)).toThrow(/Ningún/);
  });

  test('mixed scopes: user/Practitioner.rs whole, patient/Observation.rs only the patient', () => {
    const actor = actorFromClaims({ scope: 'user/Practitioner.rs patient/Observation.rs', patient: 'p1' });
    expect(planTypes(actor, undefined, all)).toEqual({ unrestricted: ['Practitioner'], patientScoped: ['Observation'], patient: 'p1' });
  });
});

describe('exportQuery: one pass, values bound', () => {
  test('system level with _since', () => {
    const c = exportQuery(db, { level: 'system', unrestricted: ['Patient'], patientScoped: [], since: '2026-01-01T00:00:00.000Z' }).compile();
    expect(c.sql).toBe('select "r"."resource_type", "r"."content" from "resource" as "r" where (r.resource_type = ANY($1::text[]) AND NOT r.deleted AND r.last_updated >= $2)');
    expect(c.parameters).toEqual([['Patient'], new Date('2026-01-01T00:00:00.000Z')]);
  });

  test('group level with a patient token: the members’ compartments, then only the token patient for patient-scoped types', () => {
    const c = exportQuery(db, { level: 'group', unrestricted: ['Practitioner'], patientScoped: ['Observation'], patient: 'p1', members: ['p1', 'p2'] }).compile();
    expect(c.sql).toContain('r.patients && $2::text[]');
    expect(c.sql).toContain('(r.resource_type = ANY($3::text[]) OR r.patients @> ARRAY[$4]::text[])');
    expect(c.parameters).toEqual([['Practitioner', 'Observation'], ['p1', 'p2'], ['Practitioner'], 'p1']);
  });

  test('patient level: any compartment', () => {
    expect(exportQuery(db, { level: 'patient', unrestricted: ['Observation'], patientScoped: [] }).compile().sql).toContain('cardinality(r.patients) > 0');
  });
});
