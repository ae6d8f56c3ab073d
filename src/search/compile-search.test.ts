/** The compiler needs no database: these assert the SQL text and bound parameters of Kysely's .compile(). */
import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from 'kysely';
import { describe, expect, test } from 'vitest';
import { countQuery, pageQuery } from './compile-search.ts';
import type { SearchDatabase } from './index-tables.ts';
import { parseSearch } from './parse-search.ts';

const db = new Kysely<SearchDatabase>({
  dialect: { createAdapter: () => new PostgresAdapter(), createDriver: () => new DummyDriver(), createIntrospector: (d) => new PostgresIntrospector(d), createQueryCompiler: () => new PostgresQueryCompiler() },
});
const now = new Date('2026-01-01T00:00:00Z');

function compile(type: string, qs: string) {
  const req = parseSearch([type], Object.fromEntries(new URLSearchParams(qs)));
  return pageQuery(db, req, { now, baseUrl: 'https://ecu.example/fhir' }).query.compile();
}

describe('compiled SQL', () => {
  test('token identifier: one EXISTS on sp_token, values bound', () => {
    const c = compile('Patient', 'identifier=urn:oid:2.16.840.1.113883.4.629|VIRB840210MDFGMN05');
    expect(c.sql).toBe(
      'select "r"."resource_type", "r"."id", "r"."content", r.resource_type as "k0", r.id as "k1" from "resource" as "r" where (r.resource_type = $1 AND NOT r.deleted AND EXISTS (SELECT 1 FROM "sp_token" AS "s1" WHERE "s1"."resource_type" = $2 AND "s1"."id" = r.id AND "s1"."param" = $3 AND ("s1"."code" = $4 AND "s1"."system" = $5))) order by r.resource_type ASC, r.id ASC limit $6',
    );
    expect(c.parameters).toEqual(['Patient', 'Patient', 'identifier', 'VIRB840210MDFGMN05', 'urn:oid:2.16.840.1.113883.4.629', 21]);
  });

  test('reference by subject: target id and type, local only', () => {
    const c = compile('Observation', 'subject=Patient/123&_count=5');
    expect(c.sql).toContain('EXISTS (SELECT 1 FROM "sp_reference" AS "s1" WHERE "s1"."resource_type" = $2 AND "s1"."id" = r.id AND "s1"."param" = $3 AND ("s1"."target_id" = $4 AND "s1"."url" IS NULL AND "s1"."target_type" = $5))');
    expect(c.parameters).toEqual(['Observation', 'Observation', 'subject', '123', 'Patient', 6]);
  });

  test('string: normalised prefix LIKE with wildcards escaped; :contains; :exact', () => {
    expect(compile('Patient', 'name=Jo%25sé_').parameters).toContain('jo\\%se\\_%');
    expect(compile('Patient', 'name:contains=JOSÉ').parameters).toContain('%jose%');
    const exact = compile('Patient', 'name:exact=José');
    expect(exact.sql).toContain('("s1"."value" = $4 AND "s1"."exact" = $5)');
    expect(exact.parameters).toContain('jose');
    expect(exact.parameters).toContain('José');
  });

  test('date prefixes compare the stored range with the search range', () => {
    const c = compile('Patient', 'birthdate=ge1980');
    expect(c.sql).toContain('("s1"."hi" > $4 OR ("s1"."lo" >= $5 AND "s1"."hi" <= $6))');
    expect(c.parameters.slice(3, 6)).toEqual([new Date('1980-12-31T23:59:59.999Z'), new Date('1980-01-01T00:00:00.000Z'), new Date('1980-12-31T23:59:59.999Z')]);
  });

  test('comma is OR inside one EXISTS; repetition is AND of two', () => {
    const or = compile('Patient', 'gender=male,female');
    expect(or.sql.match(/EXISTS/g)).toHaveLength(1);
    expect(or.sql).toContain('OR');
    const req = parseSearch(['Patient'], { name: ['a', 'b'] });
    expect(pageQuery(db, req, { now }).query.compile().sql.match(/EXISTS/g)).toHaveLength(2);
  });

  test('composite components are tied by grp', () => {
    const c = compile('Observation', 'component-code-value-quantity=http://loinc.org|8480-6$gt100');
    expect(c.sql).toContain('"s2"."grp" = "s1"."grp"');
    expect(c.parameters).toContain('component-code-value-quantity$0');
    expect(c.parameters).toContain('component-code-value-quantity$1');
  });

  test('chain and _has nest on the reference index', () => {
    const chain = compile('Observation', 'subject:Patient.identifier=X');
    expect(chain.sql).toContain('"s1"."target_type" = $');
    expect(chain.sql).toContain('"s2"."id" = "s1"."target_id"');
    const has = compile('Patient', '_has:Observation:subject:code=1234');
    expect(has.sql).toContain('"s1"."target_id" = r.id');
    expect(has.parameters).toEqual(expect.arrayContaining(['Observation', 'subject', 'code', '1234']));
  });

  test('_sort adds key subqueries; descending dates sort by the range end', () => {
    const c = compile('Observation', '_sort=-date,status');
    expect(c.sql).toContain('(SELECT max("o0"."hi") FROM "sp_date" AS "o0"');
    expect(c.sql).toContain('(SELECT min("o1"."code") FROM "sp_token" AS "o1"');
    // Each key's subquery is evaluated once per row: the order names its column, missing values last.
    expect(c.sql).toMatch(/order by "k0" DESC NULLS LAST, "k1" ASC NULLS LAST, r.resource_type ASC, r.id ASC/);
  });

  test('count query shares the filters', () => {
    const req = parseSearch(['Patient'], { family: 'x' });
    expect(countQuery(db, req, { now }).compile().sql).toMatch(/^select count\(\*\) as "n" from "resource" as "r" where .*EXISTS/);
  });

  test('injection attempts stay in the parameters, never in the SQL text', () => {
    const evil = `x' OR 1=1; DROP TABLE resource; --`;
    for (const qs of [`name=${encodeURIComponent(evil)}`, `identifier=${encodeURIComponent(evil)}|${encodeURIComponent(evil)}`, `_id=${encodeURIComponent(evil)}`, `general-practitioner=${encodeURIComponent(evil)}`]) {
      const c = compile('Patient', qs);
      expect(c.sql).not.toContain('DROP');
      expect(c.sql).not.toContain("'");
    }
  });
});

describe('the readable set in the SQL', () => {
  const access = { all: ['Practitioner'], compartment: '*' as const, patient: 'p1' };
  const compiled = (type: string, qs: string) => pageQuery(db, parseSearch([type], Object.fromEntries(new URLSearchParams(qs))), { now, access }).query.compile();

  test('a compartment-limited type: the patient is part of the WHERE, before ORDER BY and LIMIT', () => {
    const c = compiled('Observation', 'code=8310-5');
    expect(c.sql).toMatch(/where \(r\.resource_type = \$1 AND NOT r\.deleted AND r\.patients @> ARRAY\[\$2\]::text\[\] AND EXISTS/);
    expect(c.parameters[1]).toBe('p1');
  });

  test('a fully readable type is not restricted; a chain onto a limited one checks the hop', () => {
    expect(compiled('Practitioner', 'family=Lopez').sql).not.toContain('patients');
    const chain = compiled('Practitioner', '_has:Observation:performer:code=8310-5');
    expect(chain.sql).toMatch(/EXISTS \(SELECT 1 FROM resource AS "s\d+" WHERE "s\d+"\."resource_type" = \$\d+ AND "s\d+"\."id" = "s1"\."id" AND NOT "s\d+"\."deleted" AND "s\d+"\."patients" @> ARRAY\[\$\d+\]::text\[\]\)/);
  });

  test('no access given: the SQL is the one every unrestricted caller gets', () => {
    const plain = pageQuery(db, parseSearch(['Observation'], { 'subject.name': 'x' }), { now }).query.compile();
    expect(plain.sql).not.toContain('patients');
  });
});
