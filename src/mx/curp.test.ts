import { describe, expect, it } from 'vitest';
import { curpBirthDate, curpCheckDigit, curpPattern, curpSex, validateCurp } from './curp.ts';
import { curpInconvenientWords } from './inconvenient-words.ts';

// Test vectors copied from src/mx/README.md ("CURP"), plus RENAPO's own
// example and python-stdnum's doctest example.
const validCurps = [
  'VIRB840210MDFGMN05',
  'LOPJ900101HJCPRN08',
  'GAMA050505MNLRRNA1', // born 2005: letter at 17
  'SAHM721130HOCNRR05',
  'CXCA950214HPLBSL07', // inconvenient word replaced
  'MAXA850720MNLRXN08', // no second surname
  'AAPR630321HDFLRC09', // RENAPO's example
  'BOXW310820HNERXN09', // python-stdnum, born abroad (NE)
];

/** A CURP from its first 17 characters, with the right check digit. */
function withCheckDigit(first17: string): string {
  return first17 + curpCheckDigit(first17);
}

describe('curpCheckDigit', () => {
  it.each(validCurps)('gives the check digit of %s', (curp) => {
    expect(curpCheckDigit(curp.slice(0, 17))).toBe(curp.charAt(17));
  });

  it('values Ñ as 24 and the letters after N one more than in A–Z order', () => {
    // Only position 1 differs (weight 18): Ñ (24) vs N (23) shifts the sum by 18.
    const withN = 'N00000000000000000'.slice(0, 17);
    const withEnye = 'Ñ00000000000000000'.slice(0, 17);
    expect(curpCheckDigit(withN)).toBe(String((10 - ((23 * 18) % 10)) % 10));
    expect(curpCheckDigit(withEnye)).toBe(String((10 - ((24 * 18) % 10)) % 10));
    expect(curpCheckDigit('O0000000000000000')).toBe(String((10 - ((25 * 18) % 10)) % 10));
    expect(curpCheckDigit('Z0000000000000000')).toBe(String((10 - ((36 * 18) % 10)) % 10));
  });

  it('throws on a wrong length or a character outside the alphabet', () => {
    expect(() => curpCheckDigit('VIRB840210MDFGMN')).toThrow(RangeError);
    expect(() => curpCheckDigit('VIRB840210MDFGMN05')).toThrow(RangeError);
    expect(() => curpCheckDigit('VIRB840210MDFGM-0')).toThrow(/position 16/);
  });
});

describe('validateCurp', () => {
  it.each(validCurps)('accepts %s', (curp) => {
    expect(validateCurp(curp)).toEqual({ ok: true });
  });

  it('rejects a wrong check digit and says which digit it must be', () => {
    expect(validateCurp('VIRB840210MDFGMN06')).toEqual({
      ok: false,
      reason: 'check-digit',
      es: 'CURP inválida: el dígito verificador debe ser 5, no 6',
      en: 'Invalid CURP: check digit must be 5, not 6',
    });
  });

  it('rejects 31 February even with the right check digit', () => {
    const r = validateCurp('VIRB840231MDFGMN06');
    expect(r).toMatchObject({ ok: false, reason: 'date' });
    expect(r.ok || r.es).toContain('1984-02-31');
    expect(r.ok || r.en).toContain('does not exist');
  });

  it('rejects 990231 (31 February 1999) with the check digit computed for it', () => {
    const first17 = 'LOPJ990231HJCPRN0';
    const r = validateCurp(first17 + curpCheckDigit(first17));
    expect(r).toMatchObject({ ok: false, reason: 'date' });
    expect(r.ok || r.es).toContain('1999-02-31');
  });

  it('rejects an unknown state code even with the right check digit', () => {
    const r = validateCurp('VIRB840210MZZGMN08');
    expect(r).toMatchObject({ ok: false, reason: 'state' });
    expect(r.ok || r.es).toContain('no "ZZ"');
  });

  it('rejects a wrong length', () => {
    expect(validateCurp('VIRB840210MDFGMN')).toMatchObject({ ok: false, reason: 'length', en: 'Invalid CURP: must be 18 characters long, not 16' });
    expect(validateCurp('')).toMatchObject({ ok: false, reason: 'length' });
    expect(validateCurp('VIRB840210MDFGMN055')).toMatchObject({ ok: false, reason: 'length' });
  });

  it('rejects lower case instead of upper-casing it, and says so', () => {
    const r = validateCurp('virb840210mdfgmn05');
    expect(r).toMatchObject({ ok: false, reason: 'lowercase' });
    expect(r.ok || r.es).toContain('mayúsculas');
    expect(validateCurp('VIRB840210MDFGMn05')).toMatchObject({ ok: false, reason: 'lowercase' });
  });

  it('rejects a sex other than H, M or X', () => {
    const r = validateCurp('VIRB840210WDFGMN05');
    expect(r).toMatchObject({ ok: false, reason: 'sex' });
    expect(r.ok || r.en).toContain('not "W"');
  });

  it('accepts X (non-binary, RENAPO since 2023)', () => {
    const curp = withCheckDigit('VIRB840210XDFGMN0');
    expect(validateCurp(curp)).toEqual({ ok: true });
    expect(curpSex(curp)).toBe('other');
  });

  it('rejects the generic DGIS CURP with its own reason', () => {
    const r = validateCurp('XXXX999999XXXXXX99');
    expect(r).toMatchObject({ ok: false, reason: 'generic' });
    expect(r.ok || r.es).toContain('motivo codificado');
  });

  it('rejects white space, accents and Ñ with messages that say what to change', () => {
    expect(validateCurp(' VIRB840210MDFGMN05')).toMatchObject({ ok: false, reason: 'whitespace' });
    expect(validateCurp('VIRB840210MDFGMN05\n')).toMatchObject({ ok: false, reason: 'whitespace' });
    expect(validateCurp('VÍRB840210MDFGMN05')).toMatchObject({ ok: false, reason: 'accent' });
    const r = validateCurp('PEÑA840210MDFGMN05');
    expect(r).toMatchObject({ ok: false, reason: 'enye' });
    expect(r.ok || r.en).toContain('as X');
  });

  it('says which position is wrong when the format fails', () => {
    expect(validateCurp('1IRB840210MDFGMN05')).toMatchObject({ reason: 'format', en: 'Invalid CURP: character 1 (initial of the first surname) must be a letter, not "1"' });
    expect(validateCurp('VBRB840210MDFGMN05')).toMatchObject({ reason: 'format', en: expect.stringContaining('character 2') });
    expect(validateCurp('VIRB8402A0MDFGMN05')).toMatchObject({ reason: 'format', en: expect.stringContaining('characters 5–10') });
    expect(validateCurp('VIRB841310MDFGMN05')).toMatchObject({ reason: 'date', en: expect.stringContaining('month') });
    expect(validateCurp('VIRB840200MDFGMN05')).toMatchObject({ reason: 'date', en: expect.stringContaining('day') });
    expect(validateCurp('VIRB840210MDFAMN05')).toMatchObject({ reason: 'format', en: expect.stringContaining('characters 14–16') });
    expect(validateCurp('VIRB840210MDFGMN-5')).toMatchObject({ reason: 'format', en: expect.stringContaining('character 17') });
    expect(validateCurp('VIRB840210MDFGMN0A')).toMatchObject({ reason: 'format', en: expect.stringContaining('character 18') });
  });

  it('accepts NE (born abroad) as state of birth', () => {
    expect(validateCurp(withCheckDigit('VIRB840210MNEGMN0'))).toEqual({ ok: true });
  });

  it('takes the century from character 17: 29 Feb 1900 does not exist, 29 Feb 2000 does', () => {
    expect(validateCurp(withCheckDigit('VIRB000229MDFGMN0'))).toMatchObject({ ok: false, reason: 'date', es: expect.stringContaining('1900-02-29') });
    expect(validateCurp(withCheckDigit('VIRB000229MDFGMNA'))).toEqual({ ok: true });
  });

  it('rejects every one of the 81 inconvenient words at characters 1–4', () => {
    expect(curpInconvenientWords.size).toBe(81);
    for (const word of curpInconvenientWords) {
      const r = validateCurp(withCheckDigit(`${word}950214HPLBSL0`));
      expect(r, word).toMatchObject({ ok: false, reason: 'inconvenient-word' });
      expect(r.ok || r.es, word).toContain(`"${word.charAt(0)}X${word.slice(2)}"`);
    }
  });
});

// An independent statement of the README rule, used as the oracle below.
const readmeRegex =
  /^[A-Z][AEIOUX][A-Z]{2}\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])[HMX](AS|BC|BS|CC|CL|CM|CS|CH|DF|DG|GT|GR|HG|JC|MC|MN|MS|NT|NL|OC|PL|QT|QR|SP|SL|SR|TC|TS|TL|VZ|YN|ZS|NE)[B-DF-HJ-NP-TV-Z]{3}[A-Z\d]\d$/;
const alphabet = '0123456789ABCDEFGHIJKLMNÑOPQRSTUVWXYZ';

function oracleAccepts(curp: string): boolean {
  if (!readmeRegex.test(curp) || curpInconvenientWords.has(curp.slice(0, 4))) {
    return false;
  }
  const year = (/\d/.test(curp.charAt(16)) ? 1900 : 2000) + Number(curp.slice(4, 6));
  const month = Number(curp.slice(6, 8));
  const day = Number(curp.slice(8, 10));
  const d = new Date(Date.UTC(year, month - 1, day));
  if (d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) {
    return false;
  }
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    sum += alphabet.indexOf(curp.charAt(i)) * (18 - i);
  }
  return curp.charAt(17) === String((10 - (sum % 10)) % 10);
}

describe('validateCurp against the README rule, for every single-character substitution', () => {
  const substitutes = `${alphabet}-a `;

  it('uses the README regex verbatim', () => {
    expect(curpPattern.source).toBe(readmeRegex.source);
  });

  it.each(validCurps)('agrees with the formula on every mutation of %s', (curp) => {
    let accepted = 0;
    for (let i = 0; i < 18; i++) {
      for (const c of substitutes) {
        if (c === curp.charAt(i)) {
          continue;
        }
        const mutated = curp.slice(0, i) + c + curp.slice(i + 1);
        const r = validateCurp(mutated);
        expect(r.ok, mutated).toBe(oracleAccepts(mutated));
        if (r.ok) {
          accepted++;
          // Only a change that keeps the weighted sum mod 10 can survive the check digit.
          const delta = alphabet.indexOf(c) - alphabet.indexOf(curp.charAt(i));
          expect(i, mutated).toBeLessThan(17);
          expect(Math.abs(delta * (18 - i)) % 10, mutated).toBe(0);
        } else {
          // Every rejection names a specific problem, never the fallback.
          expect(r.es, mutated).not.toContain('no tiene el formato de una CURP');
        }
      }
    }
    // Position 9 has weight 10, so e.g. day 10 → 20 keeps the check digit: the date rule catches what it can.
    expect(accepted).toBeGreaterThan(0);
  });
});

describe('curpBirthDate', () => {
  it('decodes the birth date with the century from character 17', () => {
    expect(curpBirthDate('VIRB840210MDFGMN05')).toBe('1984-02-10');
    expect(curpBirthDate('GAMA050505MNLRRNA1')).toBe('2005-05-05');
    expect(curpBirthDate('SAHM721130HOCNRR05')).toBe('1972-11-30');
    expect(curpBirthDate('BOXW310820HNERXN09')).toBe('1931-08-20');
  });

  it('is undefined when the date does not exist or cannot be read', () => {
    expect(curpBirthDate('VIRB840231MDFGMN06')).toBeUndefined();
    expect(curpBirthDate('VIRB84021')).toBeUndefined();
    expect(curpBirthDate('VIRB8402X0MDFGMN05')).toBeUndefined();
    expect(curpBirthDate('VIRB840210MDFGMN-5')).toBeUndefined();
  });
});

describe('curpSex', () => {
  it('maps H, M and X to Patient.gender', () => {
    expect(curpSex('LOPJ900101HJCPRN08')).toBe('male');
    expect(curpSex('VIRB840210MDFGMN05')).toBe('female');
    expect(curpSex('VIRB840210XDFGMN05')).toBe('other');
  });

  it('is undefined for anything else', () => {
    expect(curpSex('VIRB840210WDFGMN05')).toBeUndefined();
    expect(curpSex('VIRB840210M')).toBeUndefined();
  });
});
