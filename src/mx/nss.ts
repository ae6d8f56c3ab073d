/**
 * NSS, Número de Seguridad Social (IMSS), 11 digits: subdelegación (1–2),
 * year of affiliation (3–4), year of birth (5–6), consecutive (7–10) and a
 * check digit (11). Source: src/mx/README.md ("NSS").
 */
import { invalid } from './id-check.ts';
import type { MxIdCheck, MxIdLabel } from './id-check.ts';
import { whitespaceProblem } from './text-checks.ts';

const label: MxIdLabel = { es: 'NSS inválido', en: 'Invalid NSS' };

/**
 * The NSS check digit (digit 11) for the first 10 digits: Luhn with weights
 * 1, 2, 1, 2… from the left, 9 subtracted from products over 9,
 * `check = (10 − sum mod 10) mod 10`.
 * Source: src/mx/README.md ("NSS").
 * @throws RangeError when `first10` is not 10 digits.
 */
export function nssCheckDigit(first10: string): string {
  if (!/^\d{10}$/.test(first10)) {
    throw new RangeError(`nssCheckDigit needs the first 10 digits of an NSS, got "${first10}"`);
  }
  let sum = 0;
  for (let i = 0; i < 10; i++) {
    const product = Number(first10.charAt(i)) * (i % 2 === 0 ? 1 : 2);
    sum += product > 9 ? product - 9 : product;
  }
  return String((10 - (sum % 10)) % 10);
}

/**
 * Validates an IMSS NSS: exactly 11 digits (no spaces, dashes or other
 * separators; nothing is stripped) whose last digit is `nssCheckDigit` of
 * the first 10. Source: src/mx/README.md ("NSS").
 */
export function validateNss(value: string): MxIdCheck {
  const spaces = whitespaceProblem(value, label);
  if (spaces) {
    return spaces;
  }
  if (!/^\d*$/.test(value)) {
    return invalid(
      label,
      'characters',
      'debe contener solo dígitos, sin guiones ni otros separadores',
      'must contain digits only, without dashes or other separators',
    );
  }
  if (value.length !== 11) {
    return invalid(label, 'length', `debe tener 11 dígitos, tiene ${value.length}`, `must have 11 digits, not ${value.length}`);
  }
  const expected = nssCheckDigit(value.slice(0, 10));
  const found = value.charAt(10);
  if (found !== expected) {
    return invalid(label, 'check-digit', `el dígito verificador debe ser ${expected}, no ${found}`, `check digit must be ${expected}, not ${found}`);
  }
  return { ok: true };
}
