import { describe, expect, test } from 'vitest';
import { isFhirError } from './errors.ts';
import { findBadText, maxParameters, parseQueryStrict, textProblem } from './input-text.ts';

function errorOf(run: () => unknown): { status: number; expression?: string[]; code?: string } {
  try {
    run();
  } catch (err) {
    if (isFhirError(err)) return { status: err.status, expression: err.outcome.issue[0]?.expression, code: err.outcome.issue[0]?.code };
    throw err;
  }
  throw new Error('no error');
}

describe('textProblem', () => {
  test('NUL and lone surrogates are not text; pairs and U+FFFD are', () => {
    expect(textProblem('a\u0000b')).toBe('nul');
    expect(textProblem('\ud800')).toBe('surrogate');
    expect(textProblem('x\udc00')).toBe('surrogate');
    expect(textProblem('😀 \ufffd ñ')).toBeUndefined();
  });
});

describe('parseQueryStrict', () => {
  test('decodes like a form (+ is a space), keeps order and repeats', () => {
    expect(parseQueryStrict('name=Ana+Mar%C3%ADa&name=x&flag&=v', 'url')).toEqual([
      ['name', 'Ana María'],
      ['name', 'x'],
      ['flag', ''],
      ['', 'v'],
    ]);
  });

  test('bad encoding, NUL or an encoded surrogate is a 400 naming the parameter', () => {
    expect(errorOf(() => parseQueryStrict('a=1&name=%C3%28', 'url'))).toMatchObject({ status: 400, expression: ['name'] });
    expect(errorOf(() => parseQueryStrict('name=%00', 'url'))).toMatchObject({ status: 400, expression: ['name'] });
    expect(errorOf(() => parseQueryStrict('name=%ED%A0%80', 'url'))).toMatchObject({ status: 400, expression: ['name'] });
    expect(errorOf(() => parseQueryStrict('%ZZ=1', 'If-None-Exist'))).toMatchObject({ status: 400, expression: ['If-None-Exist'] });
  });

  test(`more than ${maxParameters} parameters is too costly, before the rest is decoded`, () => {
    const many = Array.from({ length: maxParameters + 1 }, (_, i) => `p${i}=1`).join('&');
    expect(errorOf(() => parseQueryStrict(many, 'body'))).toMatchObject({ status: 400, code: 'too-costly' });
    expect(parseQueryStrict(many.slice(0, many.lastIndexOf('&')), 'body')).toHaveLength(maxParameters);
  });
});

describe('findBadText', () => {
  test('names the first bad string or key with its path', () => {
    expect(findBadText({ resourceType: 'Patient', name: [{ given: ['ok', 'a\u0000'] }] }, 'Patient')).toEqual({ expression: 'Patient.name[0].given[1]', problem: 'nul' });
    expect(findBadText({ extension: [{ ['\ud800']: 1 }] }, 'Basic')).toEqual({ expression: 'Basic.extension[0]', problem: 'surrogate' });
    expect(findBadText({ a: [1, true, null, { b: 'fine' }] }, 'x')).toBeUndefined();
  });
});
