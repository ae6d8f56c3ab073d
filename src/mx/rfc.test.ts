import { describe, expect, it } from 'vitest';
import { rfcCheckDigit, rfcPersonType, validateRfc, validateRfcCheckDigit } from './rfc.ts';

// Examples from python-stdnum `stdnum/mx/rfc.py` (cited by src/mx/README.md, "RFC").
const person = 'GODE561231GR8';
const company = 'MAB9307148T4';
const badCheckCharacter = 'VACE460910SX6'; // valid format, fails the mod-11 check (stdnum doctest)

describe('validateRfc', () => {
  it('accepts a person (13) and a company (12) RFC', () => {
    expect(validateRfc(person)).toEqual({ ok: true });
    expect(validateRfc(company)).toEqual({ ok: true });
  });

  it('does not reject a wrong check character: that is a warning', () => {
    expect(validateRfc(badCheckCharacter)).toEqual({ ok: true });
  });

  it('accepts Ñ and & in the name part', () => {
    expect(validateRfc('MUÑO561231GR8')).toEqual({ ok: true });
    expect(validateRfc('A&B9307148T4')).toEqual({ ok: true });
  });

  it('rejects lower case, white space and separators instead of normalising them', () => {
    expect(validateRfc('gode561231gr8')).toMatchObject({ ok: false, reason: 'lowercase', es: expect.stringContaining('GODE561231GR8') });
    expect(validateRfc('GODE 561231 GR8')).toMatchObject({ ok: false, reason: 'whitespace' });
    expect(validateRfc('GODE-561231-GR8')).toMatchObject({ ok: false, reason: 'characters', en: expect.stringContaining('without dashes') });
  });

  it('rejects a missing homoclave and other lengths', () => {
    expect(validateRfc('COMG600703')).toMatchObject({ ok: false, reason: 'length', en: expect.stringContaining('homoclave is missing') });
    expect(validateRfc('GODE561231GR88')).toMatchObject({ ok: false, reason: 'length', es: expect.stringContaining('tiene 14') });
  });

  it('rejects dates that do not exist in either century', () => {
    expect(validateRfc('GODE561331GR8')).toMatchObject({ ok: false, reason: 'date', en: expect.stringContaining('561331') });
    expect(validateRfc('GODE560231GR8')).toMatchObject({ ok: false, reason: 'date' });
    expect(validateRfc('GODE010229GR8')).toMatchObject({ ok: false, reason: 'date' });
    // 29 Feb 00 exists in 2000 (not in 1900): accepted, the RFC does not say the century.
    expect(validateRfc('GODE000229GR8')).toEqual({ ok: true });
  });

  it('says which part is wrong', () => {
    expect(validateRfc('GOD1561231GR8')).toMatchObject({ reason: 'format', en: expect.stringContaining('characters 1–4') });
    expect(validateRfc('MA19307148T4')).toMatchObject({ reason: 'format', en: expect.stringContaining('characters 1–3') });
    expect(validateRfc('GODEA61231GR8')).toMatchObject({ reason: 'format', en: expect.stringContaining('characters 5–10') });
    expect(validateRfc('GODE561231GRB')).toMatchObject({ reason: 'format', en: expect.stringContaining('digit or A') });
    expect(validateRfc('GODE561231Ñ&8')).toMatchObject({ reason: 'format', en: expect.stringContaining('homoclave') });
  });
});

describe('rfcCheckDigit and validateRfcCheckDigit', () => {
  it('computes the mod-11 check character of persons and companies', () => {
    expect(rfcCheckDigit(person.slice(0, 12))).toBe('8');
    expect(rfcCheckDigit(company.slice(0, 11))).toBe('4');
    expect(rfcCheckDigit(badCheckCharacter.slice(0, 12))).toBe('5');
  });

  it('writes 10 as A', () => {
    // Find a homoclave whose check is 10 by the formula, and confirm it is written A.
    const found = Array.from('ABCDEFGHIJKLMNOPQRSTUVWXYZ').map((c) => `GODE561231G${c}`).find((first) => rfcCheckDigit(first) === 'A');
    expect(found).toBeDefined();
    expect(validateRfcCheckDigit(`${found}A`)).toEqual({ ok: true });
  });

  it('accepts a right check character and warns about a wrong one', () => {
    expect(validateRfcCheckDigit(person)).toEqual({ ok: true });
    expect(validateRfcCheckDigit(company)).toEqual({ ok: true });
    expect(validateRfcCheckDigit(badCheckCharacter)).toEqual({
      ok: false,
      reason: 'check-digit',
      es: 'Aviso sobre el RFC: el carácter verificador debería ser 5, no 6; algunos RFC reales emitidos por el SAT no lo cumplen, confírmelo con la constancia de situación fiscal',
      en: 'RFC warning: the check character should be 5, not 6; some real RFCs issued by SAT fail it, confirm it against the tax status certificate',
    });
  });

  it('reports a format problem before the check character', () => {
    expect(validateRfcCheckDigit('GODE561331GR8')).toMatchObject({ ok: false, reason: 'date' });
  });

  it('throws on a wrong length', () => {
    expect(() => rfcCheckDigit('GODE561231')).toThrow(RangeError);
    expect(() => rfcCheckDigit('GODE561231GR-')).toThrow(RangeError);
  });
});

describe('rfcPersonType', () => {
  it('tells persona física from persona moral by length', () => {
    expect(rfcPersonType(person)).toBe('fisica');
    expect(rfcPersonType(company)).toBe('moral');
    expect(rfcPersonType('COMG600703')).toBeUndefined();
  });
});
