import { describe, expect, test } from 'vitest';
import { jsonDepthExceeds } from './json-body.ts';

describe('jsonDepthExceeds', () => {
  test('counts object and array nesting', () => {
    expect(jsonDepthExceeds('{"a":[{"b":1}]}', 3)).toBe(false);
    expect(jsonDepthExceeds('{"a":[{"b":[1]}]}', 3)).toBe(true);
    expect(jsonDepthExceeds('['.repeat(101) + ']'.repeat(101), 100)).toBe(true);
  });

  test('brackets inside strings, escaped quotes included, do not count', () => {
    expect(jsonDepthExceeds('{"a":"[[[[[[\\"[[[[["}', 2)).toBe(false);
  });
});
