/**
 * RFC, Registro Federal de Contribuyentes (SAT): 13 characters for a person
 * (persona física), 12 for a company (persona moral). Persons: README
 * src/mx/README.md ("RFC"); companies (three name characters) and
 * the mod-11 check character: python-stdnum `stdnum/mx/rfc.py`.
 */
import { isRealDate } from './calendar-date.ts';
import { invalid } from './id-check.ts';
import type { MxIdCheck, MxIdLabel } from './id-check.ts';
import { upperCaseTextProblem } from './text-checks.ts';

const label: MxIdLabel = { es: 'RFC inválido', en: 'Invalid RFC' };
const warningLabel: MxIdLabel = { es: 'Aviso sobre el RFC', en: 'RFC warning' };

/** Persona física, as in the README: 4 name letters, YYMMDD, 2-character homoclave, check character. */
export const rfcPersonPattern = /^[A-ZÑ&]{4}\d{6}[A-Z\d]{2}[A\d]$/;

/** Persona moral: the same with 3 name characters (python-stdnum). */
export const rfcCompanyPattern = /^[A-ZÑ&]{3}\d{6}[A-Z\d]{2}[A\d]$/;

/** Check alphabet of python-stdnum: a character's value is its index (`&` = 24, space = 37, `Ñ` = 38). */
const checkAlphabet = '0123456789ABCDEFGHIJKLMN&OPQRSTUVWXYZ Ñ';

/**
 * The RFC check character (the last one) for the characters before it (12
 * for a person, 11 for a company, left-padded with spaces to 12):
 * `sum = Σ value(c[i]) × (13 − i)`, `check = (11 − sum mod 11) mod 11`,
 * written `0`–`9` or `A` for 10.
 * Source: python-stdnum `stdnum/mx/rfc.py` (`calc_check_digit`), cited by the README.
 * @throws RangeError when `first` is not 11 or 12 characters of that alphabet.
 */
export function rfcCheckDigit(first: string): string {
  if (first.length !== 11 && first.length !== 12) {
    throw new RangeError(`rfcCheckDigit needs the first 12 (person) or 11 (company) characters of an RFC, got ${first.length}`);
  }
  const padded = first.padStart(12, ' ');
  let sum = 0;
  for (let i = 0; i < 12; i++) {
    const value = checkAlphabet.indexOf(padded.charAt(i));
    if (value < 0) {
      throw new RangeError(`rfcCheckDigit: "${padded.charAt(i)}" is not an RFC character`);
    }
    sum += value * (13 - i);
  }
  const check = (11 - (sum % 11)) % 11;
  return check === 10 ? 'A' : String(check);
}

/**
 * Validates an RFC's format and date: 13 characters for a person
 * (`^[A-ZÑ&]{4}\d{6}[A-Z\d]{2}[A\d]$`), 12 for a company (3 name characters),
 * upper case without spaces or separators, and a YYMMDD date that exists
 * (the century is not encoded: a date is accepted if it exists in 19YY or
 * 20YY). The homoclave is assigned by SAT and not derivable. The check
 * character is NOT checked here: about 1.5 % of real RFCs fail it, so it is a
 * warning; use `validateRfcCheckDigit` for that.
 * Source: src/mx/README.md ("RFC"); python-stdnum `stdnum/mx/rfc.py` for companies.
 */
export function validateRfc(value: string): MxIdCheck {
  const text = upperCaseTextProblem(value, label, false);
  if (text) {
    return text;
  }
  if (!/^[A-ZÑ&\d]*$/.test(value)) {
    return invalid(label, 'characters', 'solo lleva letras, dígitos, Ñ y &, sin guiones ni otros separadores', 'has only letters, digits, Ñ and &, without dashes or other separators');
  }
  if (value.length === 10 && /^[A-ZÑ&]{4}\d{6}$/.test(value)) {
    return invalid(label, 'length', 'le falta la homoclave: un RFC de persona física tiene 13 caracteres, no 10', 'the homoclave is missing: a person RFC has 13 characters, not 10');
  }
  if (value.length !== 13 && value.length !== 12) {
    return invalid(
      label,
      'length',
      `debe tener 13 caracteres (persona física) o 12 (persona moral), tiene ${value.length}`,
      `must have 13 characters (person) or 12 (company), not ${value.length}`,
    );
  }
  const person = value.length === 13;
  const n = person ? 4 : 3;
  const who = person ? { es: 'persona física', en: 'person' } : { es: 'persona moral', en: 'company' };
  if (!/^[A-ZÑ&]+$/.test(value.slice(0, n))) {
    return invalid(
      label,
      'format',
      `los caracteres 1 a ${n} (nombre, ${who.es}) deben ser letras, Ñ o &, no "${value.slice(0, n)}"`,
      `characters 1–${n} (name, ${who.en}) must be letters, Ñ or &, not "${value.slice(0, n)}"`,
    );
  }
  const date = value.slice(n, n + 6);
  if (!/^\d{6}$/.test(date)) {
    return invalid(
      label,
      'format',
      `los caracteres ${n + 1} a ${n + 6} (fecha AAMMDD) deben ser dígitos, no "${date}"`,
      `characters ${n + 1}–${n + 6} (date YYMMDD) must be digits, not "${date}"`,
    );
  }
  const yy = Number(date.slice(0, 2));
  const month = Number(date.slice(2, 4));
  const day = Number(date.slice(4, 6));
  if (!isRealDate(1900 + yy, month, day) && !isRealDate(2000 + yy, month, day)) {
    return invalid(
      label,
      'date',
      `la fecha ${date} (caracteres ${n + 1} a ${n + 6}, AAMMDD) no existe`,
      `date ${date} (characters ${n + 1}–${n + 6}, YYMMDD) does not exist`,
    );
  }
  const last = value.charAt(value.length - 1);
  if (!/^[A\d]$/.test(last)) {
    return invalid(
      label,
      'format',
      `el último carácter (verificador) debe ser un dígito o A, no "${last}"`,
      `the last character (check character) must be a digit or A, not "${last}"`,
    );
  }
  // With the name, date and last character right, the only part left is the homoclave, [A-Z\d]{2} by the pattern.
  if (!(person ? rfcPersonPattern : rfcCompanyPattern).test(value)) {
    const homoclave = value.slice(n + 6, n + 8);
    return invalid(
      label,
      'format',
      `la homoclave (caracteres ${n + 7} y ${n + 8}) debe ser de letras o dígitos, no "${homoclave}"`,
      `the homoclave (characters ${n + 7}–${n + 8}) must be letters or digits, not "${homoclave}"`,
    );
  }
  return { ok: true };
}

/**
 * The RFC mod-11 check character, as a separate check because about 1.5 % of
 * real RFCs fail it (python-stdnum disables it by default): report a failure
 * as a warning, never as an error. Call it on a value `validateRfc` accepted.
 * Source: src/mx/README.md ("RFC"); python-stdnum `stdnum/mx/rfc.py`.
 */
export function validateRfcCheckDigit(value: string): MxIdCheck {
  const format = validateRfc(value);
  if (!format.ok) {
    return format;
  }
  const expected = rfcCheckDigit(value.slice(0, -1));
  const found = value.charAt(value.length - 1);
  if (found !== expected) {
    return invalid(
      warningLabel,
      'check-digit',
      `el carácter verificador debería ser ${expected}, no ${found}; algunos RFC reales emitidos por el SAT no lo cumplen, confírmelo con la constancia de situación fiscal`,
      `the check character should be ${expected}, not ${found}; some real RFCs issued by SAT fail it, confirm it against the tax status certificate`,
    );
  }
  return { ok: true };
}

/** Persona física (a person) or persona moral (a company). */
export type RfcPersonType = 'fisica' | 'moral';

/**
 * Persona física (13 characters) or moral (12) for a value `validateRfc`
 * accepted; undefined for other lengths. Source: src/mx/README.md ("RFC"), python-stdnum.
 */
export function rfcPersonType(value: string): RfcPersonType | undefined {
  return value.length === 13 ? 'fisica' : value.length === 12 ? 'moral' : undefined;
}
