import { describe, expect, test } from 'vitest';
import { carryNumbers, mayLoseNumbers, numberText, parseJson, stringifyJson } from './lossless.ts';

const cases = ['1.50', '105.00', '42.256500', '66.899999999999991', '123456789012345678901234567890', '1e-400', '-0', '1E+2', '0.10'];

describe('lossless JSON', () => {
  test.each(cases)('%s is written back as sent', (text) => {
    const json = `{"valueQuantity":{"value":${text},"unit":"mg"},"list":[${text},1]}`;
    const parsed = parseJson(json) as { valueQuantity: { value: number } };
    expect(typeof parsed.valueQuantity.value).toBe('number');
    expect(stringifyJson(parsed)).toBe(json);
    expect(numberText(parsed.valueQuantity, 'value')).toBe(text);
  });

  test('numbers JavaScript prints the same take the plain path', () => {
    expect(mayLoseNumbers('{"a":1.5,"b":[1,2,-3.25],"t":"10:00:00","n":100}')).toBe(false);
    expect(mayLoseNumbers('{"a":1.50}')).toBe(true);
    expect(mayLoseNumbers('{"a":[ 1e3 ]}')).toBe(true);
  });

  test('a value changed after parsing is written as the new number', () => {
    const parsed = parseJson('{"v":1.50}') as { v: number };
    parsed.v = 2;
    expect(stringifyJson(parsed)).toBe('{"v":2}');
  });

  test('a copy keeps the texts when they are carried, and a nested object keeps its own', () => {
    const parsed = parseJson('{"v":1.50,"q":{"value":2.0}}') as Record<string, unknown>;
    const copy = { id: 'x', ...parsed };
    carryNumbers(parsed, copy);
    expect(stringifyJson(copy)).toBe('{"id":"x","v":1.50,"q":{"value":2.0}}');
    expect(stringifyJson(parsed.q)).toBe('{"value":2.0}');
  });

  test('a Bundle built around parsed resources writes their texts', () => {
    const resource = parseJson('{"resourceType":"Observation","valueQuantity":{"value":7.10}}');
    expect(stringifyJson({ resourceType: 'Bundle', entry: [{ resource }] })).toBe('{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Observation","valueQuantity":{"value":7.10}}}]}');
  });
});
