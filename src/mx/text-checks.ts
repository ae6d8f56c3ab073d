/**
 * Checks shared by the alphanumeric identifiers (CURP, RFC, CLUES): they are
 * written in upper case, without spaces or accents. We never normalise a
 * value silently; a value that would need normalising is rejected with a
 * message that says what to change.
 */
import { invalid } from './id-check.ts';
import type { MxIdInvalid, MxIdLabel } from './id-check.ts';

/** Rejects white space anywhere in the value. */
export function whitespaceProblem(value: string, label: MxIdLabel): MxIdInvalid | undefined {
  if (/\s/.test(value)) {
    return invalid(label, 'whitespace', 'contiene espacios; envíe el valor sin espacios', 'contains white space; send the value without spaces');
  }
  return undefined;
}

/**
 * Rejects white space, lower case and accented vowels, in that order, and Ñ
 * when `enyeWrittenAsX` (CURP: RENAPO writes Ñ as X). Where Ñ is simply not
 * part of the format (CLUES) the format check rejects it; in RFC it is allowed.
 */
export function upperCaseTextProblem(value: string, label: MxIdLabel, enyeWrittenAsX: boolean): MxIdInvalid | undefined {
  const spaces = whitespaceProblem(value, label);
  if (spaces) {
    return spaces;
  }
  if (/[a-zñáéíóúü]/.test(value)) {
    return invalid(label, 'lowercase', `debe escribirse en mayúsculas (${value.toUpperCase()})`, `must be written in upper case (${value.toUpperCase()})`);
  }
  if (/[ÁÉÍÓÚÜ]/.test(value)) {
    return invalid(label, 'accent', 'no lleva acentos; escriba las vocales sin acento', 'has no accents; write the vowels without accents');
  }
  if (enyeWrittenAsX && value.includes('Ñ')) {
    return invalid(label, 'enye', 'no lleva Ñ; RENAPO la escribe como X', 'has no Ñ; RENAPO writes it as X');
  }
  return undefined;
}
