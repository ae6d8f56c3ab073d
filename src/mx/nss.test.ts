import { describe, expect, it } from 'vitest';
import { nssCheckDigit, validateNss } from './nss.ts';

// Valid examples from src/mx/README.md ("NSS").
const validNss = ['92919084431', '12159012348'];

describe('nssCheckDigit', () => {
  it.each(validNss)('gives the check digit of %s', (nss) => {
    expect(nssCheckDigit(nss.slice(0, 10))).toBe(nss.charAt(10));
  });

  it('weights 1, 2, 1, 2… from the left and subtracts 9 from products over 9', () => {
    // 0000000005: weight 2 → 10 → 1 → check 9. 0000000009: 18 → 9 → check 1. 5000000000: weight 1 → 5 → check 5.
    expect(nssCheckDigit('0000000005')).toBe('9');
    expect(nssCheckDigit('0000000009')).toBe('1');
    expect(nssCheckDigit('5000000000')).toBe('5');
    expect(nssCheckDigit('0000000000')).toBe('0');
  });

  it('throws unless given 10 digits', () => {
    expect(() => nssCheckDigit('929190844')).toThrow(RangeError);
    expect(() => nssCheckDigit('92919O8443')).toThrow(RangeError);
  });
});

describe('validateNss', () => {
  it.each(validNss)('accepts %s', (nss) => {
    expect(validateNss(nss)).toEqual({ ok: true });
  });

  it('rejects a wrong check digit and says which digit it must be', () => {
    expect(validateNss('92919084432')).toEqual({
      ok: false,
      reason: 'check-digit',
      es: 'NSS inválido: el dígito verificador debe ser 1, no 2',
      en: 'Invalid NSS: check digit must be 1, not 2',
    });
  });

  it.each(validNss)('rejects every one-digit change of %s', (nss) => {
    for (let i = 0; i < 11; i++) {
      for (let d = 0; d <= 9; d++) {
        if (String(d) === nss.charAt(i)) {
          continue;
        }
        const mutated = nss.slice(0, i) + String(d) + nss.slice(i + 1);
        expect(validateNss(mutated), mutated).toMatchObject({ ok: false, reason: 'check-digit' });
      }
    }
  });

  it('rejects separators and letters instead of stripping them', () => {
    expect(validateNss('9291-9084-431')).toMatchObject({ ok: false, reason: 'characters', en: expect.stringContaining('digits only') });
    expect(validateNss('9291908443A')).toMatchObject({ ok: false, reason: 'characters' });
    expect(validateNss('92919 084431')).toMatchObject({ ok: false, reason: 'whitespace' });
  });

  it('rejects a wrong length', () => {
    expect(validateNss('9291908443')).toMatchObject({ ok: false, reason: 'length', es: 'NSS inválido: debe tener 11 dígitos, tiene 10' });
    expect(validateNss('929190844310')).toMatchObject({ ok: false, reason: 'length' });
    expect(validateNss('')).toMatchObject({ ok: false, reason: 'length' });
  });
});
