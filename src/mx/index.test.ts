import { describe, expect, it } from 'vitest';
import * as mx from './index.ts';

describe('src/mx index', () => {
  it('exports the validators', () => {
    expect(mx.validateCurp('VIRB840210MDFGMN05')).toEqual({ ok: true });
    expect(mx.validateNss('92919084431')).toEqual({ ok: true });
    expect(mx.validateRfc('GODE561231GR8')).toEqual({ ok: true });
    expect(mx.validateClues('DFIMS000011')).toEqual({ ok: true });
    expect(mx.validateCedula('1234567')).toEqual({ ok: true });
    expect(mx.curpSystem).toBe('urn:oid:2.16.840.1.113883.4.629');
  });
});
