/**
 * Cédula profesional (SEP): 7 or 8 digits; older ones may have fewer, so the
 * accepted length is configurable. Source: src/mx/README.md ("Cédula profesional").
 */
import { invalid } from './id-check.ts';
import type { MxIdCheck, MxIdLabel } from './id-check.ts';
import { whitespaceProblem } from './text-checks.ts';

const label: MxIdLabel = { es: 'Cédula profesional inválida', en: 'Invalid cédula profesional' };

export type CedulaOptions = {
  /** Fewest digits accepted; default 7. */
  minDigits?: number;
  /** Most digits accepted; default 8. */
  maxDigits?: number;
};

export const defaultCedulaOptions: Readonly<Required<CedulaOptions>> = Object.freeze({ minDigits: 7, maxDigits: 8 });

/**
 * Validates a cédula profesional as digits only, `^\d{7,8}$` by default;
 * `options` widens or narrows the length (e.g. `{ minDigits: 5 }` for old
 * cédulas). There is no check digit.
 * Source: src/mx/README.md ("Cédula profesional").
 * @throws RangeError when the options are not whole numbers with 1 ≤ min ≤ max.
 */
export function validateCedula(value: string, options: CedulaOptions = {}): MxIdCheck {
  const min = options.minDigits ?? defaultCedulaOptions.minDigits;
  const max = options.maxDigits ?? defaultCedulaOptions.maxDigits;
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max < min) {
    throw new RangeError(`validateCedula: invalid digit range ${min}..${max}`);
  }
  const spaces = whitespaceProblem(value, label);
  if (spaces) {
    return spaces;
  }
  if (!/^\d*$/.test(value)) {
    return invalid(label, 'characters', 'debe contener solo dígitos, sin letras, guiones ni otros separadores', 'must contain digits only, without letters, dashes or other separators');
  }
  if (value.length < min || value.length > max) {
    // Spanish writes "u" for "o" before a word that sounds like o- (ocho, once).
    const or = String(max).startsWith('8') || max === 11 ? 'u' : 'o';
    const es = min === max ? `${min}` : max === min + 1 ? `${min} ${or} ${max}` : `entre ${min} y ${max}`;
    const en = min === max ? `${min}` : max === min + 1 ? `${min} or ${max}` : `between ${min} and ${max}`;
    return invalid(label, 'length', `debe tener ${es} dígitos, tiene ${value.length}`, `must have ${en} digits, not ${value.length}`);
  }
  return { ok: true };
}
