/**
 * CURP, Clave Única de Registro de Población (RENAPO), 18 characters.
 * Rules from RENAPO's Instructivo normativo para la asignación de la CURP as
 * summarised in src/mx/README.md ("CURP"); the check digit as in
 * python-stdnum `stdnum/mx/curp.py`. NOM-024-SSA3-2012 6.5.1: the validated
 * CURP is the patient's identifier and a system never generates one, so this
 * module checks CURPs and never builds them.
 */
import { isRealDate, isoDate } from './calendar-date.ts';
import { invalid } from './id-check.ts';
import type { MxIdCheck, MxIdInvalid, MxIdLabel } from './id-check.ts';
import { curpInconvenientWords } from './inconvenient-words.ts';
import { bornAbroadCode, isCurpBirthState, mexicanStates } from './states.ts';
import { upperCaseTextProblem } from './text-checks.ts';

const label: MxIdLabel = { es: 'CURP inválida', en: 'Invalid CURP' };

/** The README's format regex, verbatim: necessary, not sufficient (date and check digit are checked apart). */
export const curpPattern =
  /^[A-Z][AEIOUX][A-Z]{2}\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])[HMX](AS|BC|BS|CC|CL|CM|CS|CH|DF|DG|GT|GR|HG|JC|MC|MN|MS|NT|NL|OC|PL|QT|QR|SP|SL|SR|TC|TS|TL|VZ|YN|ZS|NE)[B-DF-HJ-NP-TV-Z]{3}[A-Z\d]\d$/;

/** The placeholder `XXXX999999XXXXXX99` DGIS report files use for "no CURP": not an identifier. */
export const genericCurp = 'XXXX999999XXXXXX99';

/** Check-digit alphabet: a character's value is its index (`A` = 10, `N` = 23, `Ñ` = 24, `Z` = 36). */
const checkAlphabet = '0123456789ABCDEFGHIJKLMNÑOPQRSTUVWXYZ';

/**
 * The CURP check digit (character 18) for the first 17 characters:
 * `sum = Σ value(c[i]) × (18 − i)` for i = 0..16, `digit = (10 − sum mod 10) mod 10`,
 * with values from the alphabet `0-9 A-N Ñ O-Z`.
 * Source: RENAPO algorithm as given in src/mx/README.md ("Check digit"); python-stdnum `mx/curp.py`.
 * @throws RangeError when `first17` is not 17 characters of that alphabet.
 */
export function curpCheckDigit(first17: string): string {
  if (first17.length !== 17) {
    throw new RangeError(`curpCheckDigit needs the first 17 characters of a CURP, got ${first17.length}`);
  }
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const value = checkAlphabet.indexOf(first17.charAt(i));
    if (value < 0) {
      throw new RangeError(`curpCheckDigit: "${first17.charAt(i)}" at position ${i + 1} is not a CURP character`);
    }
    sum += value * (18 - i);
  }
  return String((10 - (sum % 10)) % 10);
}

/**
 * Validates a CURP: upper case without spaces or accents, 18 characters, not
 * the generic `XXXX999999XXXXXX99`, the README format (state codes, sex `H`,
 * `M` or `X`), not starting with an inconvenient word, a birth date that
 * exists (century from character 17: digit → 19YY, letter → 20YY), and the
 * check digit. Nothing is normalised: `virb…` is rejected, not upper-cased.
 * Source: src/mx/README.md ("CURP"), RENAPO Instructivo normativo (Anexo 2 for the words).
 */
export function validateCurp(value: string): MxIdCheck {
  const text = upperCaseTextProblem(value, label, true);
  if (text) {
    return text;
  }
  if (value.length !== 18) {
    return invalid(label, 'length', `debe tener 18 caracteres, tiene ${value.length}`, `must be 18 characters long, not ${value.length}`);
  }
  if (value === genericCurp) {
    return invalid(
      label,
      'generic',
      `${genericCurp} es la CURP genérica de los reportes DGIS, no identifica a nadie; si el paciente no tiene CURP, registre el motivo codificado en lugar de la CURP`,
      `${genericCurp} is the generic CURP of DGIS reports and identifies nobody; if the patient has no CURP, record the coded reason instead of a CURP`,
    );
  }
  if (!curpPattern.test(value)) {
    return explainFormat(value);
  }
  const word = value.slice(0, 4);
  if (curpInconvenientWords.has(word)) {
    const replaced = `${word.charAt(0)}X${word.slice(2)}`;
    return invalid(
      label,
      'inconvenient-word',
      `los caracteres 1 a 4 ("${word}") forman una palabra inconveniente (RENAPO, Anexo 2); RENAPO la sustituye por "${replaced}"`,
      `characters 1–4 ("${word}") spell an inconvenient word (RENAPO, Annex 2); RENAPO replaces it with "${replaced}"`,
    );
  }
  const year = curpBirthYear(value);
  const month = Number(value.slice(6, 8));
  const day = Number(value.slice(8, 10));
  if (!isRealDate(year, month, day)) {
    const date = isoDate(year, month, day);
    const c17 = value.charAt(16);
    return invalid(
      label,
      'date',
      `la fecha de nacimiento ${date} (caracteres 5 a 10, con el siglo que da el carácter 17 "${c17}") no existe`,
      `birth date ${date} (characters 5–10, with the century given by character 17 "${c17}") does not exist`,
    );
  }
  const expected = curpCheckDigit(value.slice(0, 17));
  const found = value.charAt(17);
  if (found !== expected) {
    return invalid(label, 'check-digit', `el dígito verificador debe ser ${expected}, no ${found}`, `check digit must be ${expected}, not ${found}`);
  }
  return { ok: true };
}

/**
 * The birth date a CURP encodes, as a FHIR date `YYYY-MM-DD` (positions 5–10,
 * century from position 17: digit → 19YY, letter → 20YY), to compare with
 * `Patient.birthDate`. Undefined when those positions do not encode a real
 * date. It reads those positions only: validate the CURP with `validateCurp` first.
 * Source: src/mx/README.md ("CURP", "Consistency with the Patient").
 */
export function curpBirthDate(curp: string): string | undefined {
  if (curp.length !== 18 || !/^\d{6}$/.test(curp.slice(4, 10)) || !/^[A-Z\d]$/.test(curp.charAt(16))) {
    return undefined;
  }
  const year = curpBirthYear(curp);
  const month = Number(curp.slice(6, 8));
  const day = Number(curp.slice(8, 10));
  return isRealDate(year, month, day) ? isoDate(year, month, day) : undefined;
}

/** The `Patient.gender` a CURP's sex character corresponds to. */
export type CurpSex = 'male' | 'female' | 'other';

/**
 * The `Patient.gender` a CURP encodes at position 11: `H` → male, `M` →
 * female, `X` (non-binary, issued by RENAPO since 2023) → other; undefined
 * for anything else. Validate the CURP with `validateCurp` first.
 * Source: src/mx/README.md ("Consistency with the Patient").
 */
export function curpSex(curp: string): CurpSex | undefined {
  if (curp.length !== 18) {
    return undefined;
  }
  switch (curp.charAt(10)) {
    case 'H':
      return 'male';
    case 'M':
      return 'female';
    case 'X':
      return 'other';
    default:
      return undefined;
  }
}

/** Century from character 17 (homonym differentiator): a digit for births up to 1999, a letter from 2000. */
function curpBirthYear(curp: string): number {
  const yy = Number(curp.slice(4, 6));
  return /\d/.test(curp.charAt(16)) ? 1900 + yy : 2000 + yy;
}

const stateList = `${Object.keys(mexicanStates).join(', ')} o ${bornAbroadCode}`;

type Segment = {
  from: number;
  to: number;
  test: (part: string) => boolean;
  reason: 'format' | 'sex' | 'state' | 'date';
  es: string;
  en: string;
};

/** Each part of the format, in order, with what it must be: to say which part of a CURP that fails `curpPattern` is wrong. */
const segments: readonly Segment[] = [
  { from: 0, to: 1, test: (p) => /^[A-Z]$/.test(p), reason: 'format', es: 'el carácter 1 (inicial del primer apellido) debe ser una letra', en: 'character 1 (initial of the first surname) must be a letter' },
  { from: 1, to: 2, test: (p) => /^[AEIOUX]$/.test(p), reason: 'format', es: 'el carácter 2 (primera vocal interna del primer apellido) debe ser una vocal o X', en: 'character 2 (first internal vowel of the first surname) must be a vowel or X' },
  { from: 2, to: 4, test: (p) => /^[A-Z]{2}$/.test(p), reason: 'format', es: 'los caracteres 3 y 4 (iniciales del segundo apellido y del nombre) deben ser letras', en: 'characters 3–4 (initials of the second surname and the given name) must be letters' },
  { from: 4, to: 10, test: (p) => /^\d{6}$/.test(p), reason: 'format', es: 'los caracteres 5 a 10 (fecha de nacimiento AAMMDD) deben ser dígitos', en: 'characters 5–10 (birth date YYMMDD) must be digits' },
  { from: 6, to: 8, test: (p) => /^(0[1-9]|1[0-2])$/.test(p), reason: 'date', es: 'el mes de nacimiento (caracteres 7 y 8) debe estar entre 01 y 12', en: 'the birth month (characters 7–8) must be between 01 and 12' },
  { from: 8, to: 10, test: (p) => /^(0[1-9]|[12]\d|3[01])$/.test(p), reason: 'date', es: 'el día de nacimiento (caracteres 9 y 10) debe estar entre 01 y 31', en: 'the birth day (characters 9–10) must be between 01 and 31' },
  { from: 10, to: 11, test: (p) => /^[HMX]$/.test(p), reason: 'sex', es: 'el carácter 11 (sexo) debe ser H (hombre), M (mujer) o X (no binario)', en: 'character 11 (sex) must be H (male), M (female) or X (non-binary)' },
  { from: 11, to: 13, test: isCurpBirthState, reason: 'state', es: `los caracteres 12 y 13 (entidad de nacimiento) deben ser una clave de RENAPO (${stateList} para nacidos en el extranjero)`, en: `characters 12–13 (state of birth) must be a RENAPO code (${stateList.replace(' o ', ' or ')} for born abroad)` },
  { from: 13, to: 16, test: (p) => /^[B-DF-HJ-NP-TV-Z]{3}$/.test(p), reason: 'format', es: 'los caracteres 14 a 16 (consonantes internas de apellidos y nombre) deben ser consonantes', en: 'characters 14–16 (internal consonants of the surnames and given name) must be consonants' },
  { from: 16, to: 17, test: (p) => /^[A-Z\d]$/.test(p), reason: 'format', es: 'el carácter 17 (diferenciador de homonimia) debe ser un dígito (nacidos hasta 1999) o una letra (desde 2000)', en: 'character 17 (homonym differentiator) must be a digit (born up to 1999) or a letter (from 2000)' },
  { from: 17, to: 18, test: (p) => /^\d$/.test(p), reason: 'format', es: 'el carácter 18 (dígito verificador) debe ser un dígito', en: 'character 18 (check digit) must be a digit' },
];

function explainFormat(value: string): MxIdInvalid {
  for (const s of segments) {
    const part = value.slice(s.from, s.to);
    if (!s.test(part)) {
      return invalid(label, s.reason, `${s.es}, no "${part}"`, `${s.en}, not "${part}"`);
    }
  }
  // Unreachable while the segments cover curpPattern; kept so a mismatch can never pass.
  return invalid(label, 'format', 'no tiene el formato de una CURP', 'does not have the format of a CURP');
}
