/** The compiler needs no database: these assert the SQL text and bound parameters of Kysely's .compile(). */
import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from 'kysely';
import { describe, expect, test } from 'vitest';
import { countQuery, pageKeys, pageQuery } from './compile-search.ts';
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
  test('token identifier: the ids come from sp_token first, only the page is read from resource (by primary key); values bound', () => {
    const c = compile('Patient', 'identifier=urn:oid:2.16.840.1.113883.4.629|VIRB840210MDFGMN05');
    expect(c.sql).toBe(
      'with "m" as materialized (SELECT "d"."id", $1::text AS "k0", "d"."id" AS "k1" FROM (SELECT DISTINCT d0.id FROM sp_token AS d0 WHERE d0.resource_type = $2 AND d0.param = $3 AND ("d0"."code" = $4 AND "d0"."system" = $5)) AS d WHERE true) select r.resource_type as "resource_type", r.id as "id", r.content as "content", "p"."k0" as "k0", "p"."k1" as "k1", (SELECT count(*) FROM m) as "total" from (SELECT * FROM m WHERE true ORDER BY "k0" ASC, "k1" ASC LIMIT $6) as "p" cross join lateral (SELECT resource_type, id, content FROM resource WHERE resource_type = $7 AND id = p.id AND NOT deleted OFFSET 0) as "r" order by "k0" ASC, "k1" ASC',
    );
    expect(c.parameters).toEqual(['Patient', 'Patient', 'identifier', 'VIRB840210MDFGMN05', 'urn:oid:2.16.840.1.113883.4.629', 21, 'Patient']);
  });

  test('reference by subject: target id and type, local only, as the driving set', () => {
    const c = compile('Observation', 'subject=Patient/123&_count=5');
    expect(c.sql).toContain('(SELECT DISTINCT d0.id FROM sp_reference AS d0 WHERE d0.resource_type = $2 AND d0.param = $3 AND ("d0"."target_id" = $4 AND "d0"."url" IS NULL AND "d0"."target_type" = $5))');
    expect(c.parameters).toEqual(['Observation', 'Observation', 'subject', '123', 'Patient', 6, 'Observation']);
  });

  test('a driven search filters, sorts and counts on the index tables; resource is read for the page only, after the LIMIT', () => {
    const c = compile('Task', 'owner=Organization/u1&service-type=http://snomed.info/sct|394579002&_sort=-priority,authored-on');
    const [candidates, rest] = c.sql.split(' select r.resource_type');
    // The matches (filters and sort keys) never read a resource row.
    expect(candidates).not.toMatch(/resource AS|"resource"|FROM resource/);
    expect(candidates).toContain('FROM sp_reference AS d0');
    expect(candidates).toContain('EXISTS (SELECT 1 FROM "sp_token" AS "s1" WHERE "s1"."resource_type" = $');
    // The second sort key is read after the first has cut the rows near the page (`c`).
    expect(rest).toContain('FROM "sp_date" AS "o1"');
    expect(rest).toContain('FROM m AS d WHERE CASE WHEN NOT EXISTS (SELECT 1 FROM c)');
    // The total counts the same set; rows come from resource only once the page is cut.
    expect(rest).toContain('(SELECT count(*) FROM m) as "total"');
    expect(rest).toMatch(/LIMIT \$\d+\) as "p" cross join lateral \(SELECT resource_type, id, content FROM resource WHERE/);
    const count = countQuery(db, parseSearch(['Task'], { owner: 'Organization/u1', 'service-type': '394579002' }), { now }).compile();
    expect(count.sql).toMatch(/^select count\(\*\) as "n" from \(SELECT "d"."id" FROM \(SELECT DISTINCT d0.id FROM sp_reference/);
    expect(count.sql).not.toContain('resource AS');
  });

  test('owner + status (a combined parameter): the matches are one range of sp_combo keys, owner × status; no probe for either', () => {
    const c = compile('Task', 'owner=Organization/u1&status=requested,received&_sort=-priority,authored-on');
    expect(c.sql).toContain('FROM (SELECT DISTINCT d0.id, d0.carried, d0.code, d0.lo, d0.hi FROM sp_combo AS d0 WHERE d0.resource_type = $');
    expect(c.sql).not.toContain('EXISTS (SELECT 1 FROM "sp_');
    // The sort keys come from the combination's row when it carries them; probed only for a row that does not.
    expect(c.sql).toContain(`CASE WHEN d.carried THEN CASE "d"."code" WHEN 'stat' THEN 4`);
    expect(c.sql).toContain('CASE WHEN d.carried THEN "d"."lo" ELSE (SELECT min("o1"."lo") FROM "sp_date"');
    expect(c.parameters).toContainEqual(['Organization/u1|requested', 'Organization/u1|received']);
    // With a system, a modifier, or an owner without its type, the combination does not answer: the owner drives as before.
    for (const qs of ['owner=Organization/u1&status=http://hl7.org/fhir/task-status|requested', 'owner=Organization/u1&status:not=requested', 'owner=u1&status=requested']) {
      expect(compile('Task', qs).sql, qs).not.toContain('sp_combo');
    }
    // With _id, its primary-key lookup comes first; the combination's filters are then probes.
    expect(compile('Task', '_id=a&owner=Organization/u1&status=requested').sql).not.toContain('sp_combo');
  });

  test('a low-selectivity token (status) is an EXISTS on the type, not a driving set', () => {
    const c = compile('Observation', 'status=final');
    expect(c.sql).toContain('from "resource" as "r"');
    expect(c.sql).toContain('EXISTS (SELECT 1 FROM "sp_token" AS "s1" WHERE "s1"."resource_type" = $2 AND "s1"."id" = r.id AND "s1"."param" = $3');
  });

  test('_id is read by primary key before anything drives; an identifier drives before a reference; the others stay EXISTS', () => {
    const c = compile('Patient', 'general-practitioner=Practitioner/9&identifier=x|y&_id=a,b');
    expect(c.sql).toContain('from "resource" as "r" where (r.resource_type = $1 AND NOT r.deleted AND EXISTS');
    expect(c.sql).toContain('r.id = ANY(');
    expect(c.sql).not.toContain('d0');
    expect(c.sql.match(/EXISTS/g)).toHaveLength(2);
    const d = compile('Patient', 'general-practitioner=Practitioner/9&identifier=x|y');
    expect(d.sql).toContain('FROM sp_token AS d0');
    expect(d.sql).toContain('EXISTS (SELECT 1 FROM "sp_reference"');
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

  test('pageKeys are the keys of the page query (a cursor is opened with them before the query is built)', () => {
    const cases: [string, string][] = [
      ['Observation', 'identifier=s|v'],
      ['Observation', '_id=a,b&_has:Observation:subject:code=1234'],
      ['Observation', 'subject=Patient/1&_sort=-date'],
      ['Observation', 'family=x&birthdate=ge1980&_sort=birthdate,-_lastUpdated'],
      ['Observation', ''],
      ['Task', 'owner=Organization/u1&status=requested,received&_sort=-priority,authored-on'],
    ];
    for (const [type, qs] of cases) {
      const req = parseSearch([type], Object.fromEntries(new URLSearchParams(qs)));
      const built = pageQuery(db, req, { now }).keys;
      const keys = pageKeys(req, undefined);
      expect(keys.map((k) => [k.cast, k.nullable, k.descending, k.expr.compile(db).sql]), qs).toEqual(built.map((k) => [k.cast, k.nullable, k.descending, k.expr.compile(db).sql]));
    }
  });

  test('_has with the outer ids listed (_id) also names them as constants, so the planner knows how many rows point at them', () => {
    const listed = compile('Patient', '_id=p1,p2&_has:Observation:subject:code=1234');
    expect(listed.sql).toContain('"s1"."target_id" = r.id AND "s1"."target_id" = ANY($');
    expect(listed.parameters).toContainEqual(['p1', 'p2']);
    const open = compile('Patient', '_has:Observation:subject:code=1234');
    expect(open.sql).toContain('"s1"."target_id" = r.id AND "s1"."url" IS NULL');
    expect(open.sql).not.toContain('ANY(');
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

  test('a driven search on a compartment-limited type: the patient is checked inside the matches, before ORDER BY, LIMIT and the count', () => {
    const c = compiled('Observation', 'subject=Patient/p2&_sort=-date');
    const [candidates] = c.sql.split(' select r.resource_type');
    expect(candidates).toMatch(/ AS d CROSS JOIN LATERAL \(SELECT 1 FROM resource AS rx WHERE rx\.resource_type = \$\d+ AND rx\.id = "d"\."id" AND NOT rx\.deleted AND "rx"\."patients" @> ARRAY\[\$\d+\]::text\[\] OFFSET 0\) AS rx WHERE true\)$/);
    expect(c.parameters).toContain('p1');
    const count = countQuery(db, parseSearch(['Observation'], { subject: 'Patient/p2' }), { now, access }).compile();
    expect(count.sql).toContain('"rx"."patients" @> ARRAY[');
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
