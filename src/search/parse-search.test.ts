import { describe, expect, test } from 'vitest';
import { dateRange } from './date-range.ts';
import { extractIndexValues } from './extract-index-values.ts';
import { normalizeText } from './normalize.ts';
import { parseSearch } from './parse-search.ts';
import { parseNumber, parseToken, splitEscaped } from './parse-values.ts';
import { uriPrefixes } from './compile-values.ts';

describe('values', () => {
  test('partial dates are ranges; zones are honoured; invalid dates are undefined', () => {
    expect(dateRange('2020')).toEqual({ lo: new Date('2020-01-01T00:00:00Z'), hi: new Date('2020-12-31T23:59:59.999Z') });
    expect(dateRange('2020-02')!.hi).toEqual(new Date('2020-02-29T23:59:59.999Z'));
    expect(dateRange('2020-01-15T10:00-06:00')).toEqual({ lo: new Date('2020-01-15T16:00:00Z'), hi: new Date('2020-01-15T16:00:59.999Z') });
    expect(dateRange('2020-01-15T10:00:00.5Z')!.hi).toEqual(new Date('2020-01-15T10:00:00.599Z'));
    expect(dateRange('2021-02-29')).toBeUndefined();
    expect(dateRange('20200101')).toBeUndefined();
  });
  test('escaping, tokens, numbers with implicit precision', () => {
    expect(splitEscaped('a\\,b,c', ',')).toEqual(['a\\,b', 'c']);
    expect(parseToken('http://loinc.org|8867-4')).toEqual({ system: 'http://loinc.org', code: '8867-4' });
    expect(parseToken('|x')).toEqual({ system: null, code: 'x' });
    expect(parseToken('s|')).toEqual({ system: 's', code: undefined });
    expect(parseNumber('100', 'n')).toMatchObject({ prefix: 'eq', value: '100', half: '0.5' });
    expect(parseNumber('gt5.40', 'n')).toMatchObject({ prefix: 'gt', value: '5.40', half: '0.005' });
    expect(() => parseNumber('gtx', 'n')).toThrow(/gtx/);
    expect(uriPrefixes('http://a.org/fhir/ValueSet/1')).toEqual(['http://a.org/fhir/ValueSet/1', 'http://a.org', 'http://a.org/fhir', 'http://a.org/fhir/ValueSet']);
    expect(normalizeText('  José ÑÚÑEZ ')).toBe('jose nunez');
  });
});

describe('parseSearch', () => {
  test('unknown parameters are collected, not fatal; malformed values are', () => {
    const req = parseSearch(['Patient'], { foo: 'x', name: 'a', _sort: '-birthdate,nonsense', _include: 'Patient:general-practitioner' });
    expect(req.ignored.map((i) => i.name)).toEqual(['foo', '_sort']);
    expect(req.filters).toHaveLength(1);
    expect(req.sort.map((s) => [s.name, s.descending])).toEqual([['birthdate', true]]);
    expect(req.include[0]!.code).toBe('general-practitioner');
    expect(() => parseSearch(['Patient'], { birthdate: 'ge19x' })).toThrow(/birthdate/);
  });
  test('chains resolve their target types; more than two hops is refused', () => {
    const req = parseSearch(['Observation'], { 'subject.name': 'x' });
    const f = req.filters[0]!;
    expect(f.kind === 'chain' && f.targets.map((t) => t.type).sort()).toEqual(['Location', 'Patient']);
    expect(() => parseSearch(['Observation'], { 'subject:Patient.organization.partof.name': 'x' })).toThrow(/2/);
  });
});

describe('extractIndexValues', () => {
  test('one resource → rows per table, composite components grouped', () => {
    const rows = extractIndexValues({
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '85354-9', display: 'Presión arterial' }] },
      subject: { reference: 'Patient/1' },
      effectiveDateTime: '2020-01-15',
      component: [
        { code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: { value: 120, code: 'mm[Hg]' } },
        { code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] }, valueQuantity: { value: 80, code: 'mm[Hg]' } },
      ],
    });
    expect(rows.sp_token).toContainEqual({ param: 'code', grp: 0, system: 'http://loinc.org', code: '85354-9', text: 'presion arterial' });
    expect(rows.sp_reference).toContainEqual({ param: 'subject', grp: 0, target_type: 'Patient', target_id: '1', url: null });
    expect(rows.sp_date).toContainEqual({ param: 'date', grp: 0, lo: new Date('2020-01-15T00:00:00Z'), hi: new Date('2020-01-15T23:59:59.999Z') });
    expect(rows.sp_quantity.filter((r) => r.param === 'component-code-value-quantity$1').map((r) => [r.grp, r.value])).toEqual([[0, '120'], [1, '80']]);
  });
});

describe('numbers are bounded before any arithmetic (issue 14)', () => {
  test('exponent and digits beyond the limits are 400s, at once and without allocating', () => {
    for (const raw of ['1e500000000', '1e-999999', 'gt1E+1001', '9'.repeat(101), `0.${'1'.repeat(100)}`, `1e${'9'.repeat(5000)}`]) {
      const started = performance.now();
      expect(() => parseNumber(raw, 'value-quantity'), raw.slice(0, 20)).toThrow(/fuera de rango/);
      expect(performance.now() - started).toBeLessThan(50);
    }
  });
  test('within the limits the value is kept exactly, as PostgreSQL numeric reads it', () => {
    expect(parseNumber('1e1000', 'n')).toMatchObject({ value: '1e1000' });
    expect(parseNumber('le1.50e-3', 'n')).toMatchObject({ prefix: 'le', value: '1.50e-3', half: '0.000005' });
    expect(parseNumber('+12345678901234567890.5', 'n')).toMatchObject({ value: '12345678901234567890.5', half: '0.05' });
    expect(parseNumber('1e-1000', 'n').half).toBe(`0.${'0'.repeat(1000)}5`);
  });
});

describe('request size limits (issue 14)', () => {
  test('_sort keys, includes and OR values are bounded', () => {
    expect(() => parseSearch(['Patient'], { _sort: Array(9).fill('name').join(',') })).toThrow(/_sort/);
    expect(() => parseSearch(['Observation'], { _include: Array(21).fill('Observation:subject') })).toThrow(/_include/);
    expect(() => parseSearch(['Patient'], { family: Array(101).fill('x').join(',') })).toThrow(/family/);
    // Escaped commas are part of a value, not separators.
    expect(parseSearch(['Patient'], { family: Array(150).fill('x').join('\\,') }).filters).toHaveLength(1);
  });
});
