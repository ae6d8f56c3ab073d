import { describe, expect, it } from 'vitest';
import { validateCedula } from './cedula.ts';

// Rule from src/mx/README.md ("Cédula profesional"): ^\d{7,8}$ by default, configurable.
describe('validateCedula', () => {
  it('accepts 7 or 8 digits by default', () => {
    expect(validateCedula('1234567')).toEqual({ ok: true });
    expect(validateCedula('12345678')).toEqual({ ok: true });
  });

  it('rejects other lengths, saying what is allowed', () => {
    expect(validateCedula('123456')).toEqual({
      ok: false,
      reason: 'length',
      es: 'Cédula profesional inválida: debe tener 7 u 8 dígitos, tiene 6',
      en: 'Invalid cédula profesional: must have 7 or 8 digits, not 6',
    });
    expect(validateCedula('123456789')).toMatchObject({ ok: false, reason: 'length' });
    expect(validateCedula('')).toMatchObject({ ok: false, reason: 'length' });
  });

  it('rejects letters, separators and spaces instead of stripping them', () => {
    expect(validateCedula('12-34567')).toMatchObject({ ok: false, reason: 'characters' });
    expect(validateCedula('A1234567')).toMatchObject({ ok: false, reason: 'characters' });
    expect(validateCedula('1234567 ')).toMatchObject({ ok: false, reason: 'whitespace' });
  });

  it('takes the allowed length from options', () => {
    expect(validateCedula('12345', { minDigits: 5 })).toEqual({ ok: true });
    expect(validateCedula('1234', { minDigits: 5 })).toMatchObject({ ok: false, es: expect.stringContaining('entre 5 y 8 dígitos') });
    expect(validateCedula('12345678', { maxDigits: 7 })).toMatchObject({ ok: false, es: expect.stringContaining('debe tener 7 dígitos') });
    expect(validateCedula('1234', { minDigits: 5, maxDigits: 6 })).toMatchObject({ es: expect.stringContaining('5 o 6 dígitos') });
  });

  it('throws on options that make no range', () => {
    expect(() => validateCedula('1234567', { minDigits: 9 })).toThrow(RangeError);
    expect(() => validateCedula('1234567', { minDigits: 0 })).toThrow(RangeError);
    expect(() => validateCedula('1234567', { maxDigits: 7.5 })).toThrow(RangeError);
  });
});
