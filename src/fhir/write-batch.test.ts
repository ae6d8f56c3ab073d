import { expect, test } from 'vitest';
import { jsonTextArrayLiteral } from './write-batch.ts';

test('JSON texts become one array literal; a null, a control character or a lone surrogate leaves the escaping to pg', () => {
  expect(jsonTextArrayLiteral(['{"a":"b\\"c"}', 'x\\y'])).toBe('{"{\\"a\\":\\"b\\\\\\"c\\"}","x\\\\y"}');
  expect(jsonTextArrayLiteral([])).toBe('{}');
  expect(jsonTextArrayLiteral(['a', null])).toBeUndefined();
  expect(jsonTextArrayLiteral(['a\nb'])).toBeUndefined();
  expect(jsonTextArrayLiteral(['a\u0000b'])).toBeUndefined();
  expect(jsonTextArrayLiteral(['a\ud800b'])).toBeUndefined();
  expect(jsonTextArrayLiteral(['é 😀 \u2028'])).toBe('{"é 😀 \u2028"}');
});
