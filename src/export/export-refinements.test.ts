import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from 'kysely';
import { describe, expect, test } from 'vitest';
import type { Database } from '../store/database.ts';
import { parseAssociated } from './associated-data.ts';
import { elementsFor, elementSubsetter, parseElements } from './export-elements.ts';
import { exportQuery, provenanceQuery } from './export-query.ts';
import { parseTypeFilters, splitTypeFilters } from './type-filter.ts';

const db = new Kysely<Database>({
  dialect: { createAdapter: () => new PostgresAdapter(), createDriver: () => new DummyDriver(), createIntrospector: (d) => new PostgresIntrospector(d), createQueryCompiler: () => new PostgresQueryCompiler() },
});

describe('_typeFilter', () => {
  test('queries split at the commas that start a new Type?, not inside values; repeats join', () => {
    expect(splitTypeFilters(['MedicationRequest?status=active,completed,MedicationRequest?status=completed&date=gt2018-07-01', 'Condition?clinical-status=active'])).toEqual([
      'MedicationRequest?status=active,completed',
      'MedicationRequest?status=completed&date=gt2018-07-01',
      'Condition?clinical-status=active',
    ]);
  });

  test('a query needs Type?, a known type and no result parameters; unknown parameters are reported, not dropped silently', () => {
    expect(() => parseTypeFilters(['Observation'])).toThrow(/Type\?parameters/);
    expect(() => parseTypeFilters(['Nope?x=1'])).toThrow(/Type\?parameters/);
    expect(() => parseTypeFilters(['Observation?_sort=date'])).toThrow(/_sort/);
    expect(() => parseTypeFilters(['Observation?_include=Observation:subject'])).toThrow(/_include/);
    expect(() => parseTypeFilters(['Observation?date=notadate'])).toThrow();
    const [f] = parseTypeFilters(['Observation?status=final&nonsense=1']);
    expect(f?.request.filters).toHaveLength(1);
    expect(f?.request.ignored.map((i) => i.name)).toEqual(['nonsense']);
    expect(() => parseTypeFilters([Array.from({ length: 21 }, () => 'Patient?gender=male').join(',')])).toThrow(/20/);
  });

  test('each query compiles with the readable set inside it, OR-ed per type; other types pass', () => {
    const plan = {
      level: 'system' as const,
      unrestricted: [],
      patientScoped: ['Observation', 'Patient'],
      patient: 'p1',
      access: { all: [], compartment: '*' as const, patient: 'p1' },
      typeFilter: { queries: [{ type: 'Observation', search: 'status=final' }, { type: 'Observation', search: 'status=amended' }], now: '2026-01-01T00:00:00Z' },
    };
    const c = exportQuery(db, plan).compile();
    expect(c.sql).toContain('r.resource_type <> ALL(');
    // Both queries, each with the compartment condition of the token's patient.
    expect(c.sql.match(/r\.patients @> ARRAY\[\$\d+\]::text\[\]/g)?.length).toBeGreaterThanOrEqual(3);
    expect(c.sql.match(/FROM "sp_token"/g)).toHaveLength(2);
    expect(c.sql).toMatch(/\) OR \(/);
  });
});

describe('_elements', () => {
  test('root elements only, of a type exported, that the type has; choice elements by name or typed', () => {
    const { elements, rejected } = parseElements(['Patient.name,id', 'Observation.valueQuantity', 'Observation.value', 'Patient.name.given', 'Nope.x', 'Patient.nope', 'nothere', 'Encounter.status'], ['Patient', 'Observation']);
    expect(elements).toEqual(['Patient.name', 'id', 'Observation.valueQuantity', 'Observation.value']);
    expect(rejected.map((r) => r.entry)).toEqual(['Patient.name.given', 'Nope.x', 'Patient.nope', 'nothere', 'Encounter.status']);
  });

  test('per type: unqualified entries where the type has them, qualified ones for their type', () => {
    expect(elementsFor(['status', 'Patient.name', 'Observation.code'], 'Observation')).toEqual(['status', 'code']);
    expect(elementsFor(['status', 'Patient.name', 'Observation.code'], 'Patient')).toEqual(['name']);
  });

  test('the subset keeps the listed, the mandatory, id and meta, and is tagged SUBSETTED', () => {
    const subset = elementSubsetter(['Observation.subject']);
    const out = JSON.parse(subset('Observation', JSON.stringify({ resourceType: 'Observation', id: 'o1', meta: { versionId: '1' }, status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/1' }, note: [{ text: 'n' }], valueQuantity: { value: 1.50 } })));
    expect(Object.keys(out).sort()).toEqual(['code', 'id', 'meta', 'resourceType', 'status', 'subject']);
    expect(out.meta.tag).toEqual([{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' }]);
    expect(out.meta.versionId).toBe('1');
  });
});

describe('includeAssociatedData', () => {
  test('the two provenance values; both: the larger; anything else rejected', () => {
    expect(parseAssociated(['LatestProvenanceResources'])).toEqual({ associated: 'latest', rejected: [] });
    expect(parseAssociated(['LatestProvenanceResources,RelevantProvenanceResources']).associated).toBe('relevant');
    expect(parseAssociated(['RelevantProvenanceResources', 'LatestProvenanceResources']).associated).toBe('relevant');
    expect(parseAssociated(['_custom', 'Nope']).rejected.map((r) => r.entry)).toEqual(['_custom', 'Nope']);
  });

  test('the Provenance query: targets the main query exports, readable Provenance only, none exported twice', () => {
    const plan = { level: 'system' as const, unrestricted: ['Observation'], patientScoped: [], associated: 'latest' as const, access: { all: ['Observation'], compartment: '*' as const, patient: 'p9' } };
    const c = provenanceQuery(db, plan).compile();
    expect(c.sql).toContain('"resource" as "p"');
    expect(c.sql).toContain('"p"."patients" @> ARRAY[');
    expect(c.sql).toContain('"np"."patients" @> ARRAY[');
    expect(c.sql).toContain('NOT EXISTS (SELECT 1 FROM resource AS r WHERE r.resource_type = \'Provenance\'');
    expect(provenanceQuery(db, { ...plan, associated: 'relevant' }).compile().sql).not.toContain('AS nt');
  });
});
