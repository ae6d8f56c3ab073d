/**
 * Mexican identifiers as pure functions: CURP, NSS, RFC, CLUES, cédula
 * profesional, and the `Identifier.system` URIs they go with. No I/O, no
 * normalising: every check returns `MxIdCheck` with a Spanish and English
 * message saying what to fix. Rules and sources: src/mx/README.md.
 */
export type { MxIdCheck, MxIdInvalid, MxIdLabel, MxIdReason } from './id-check.ts';
export { curpBirthDate, curpCheckDigit, curpPattern, curpSex, genericCurp, validateCurp } from './curp.ts';
export type { CurpSex } from './curp.ts';
export { nssCheckDigit, validateNss } from './nss.ts';
export { rfcCheckDigit, rfcCompanyPattern, rfcPersonPattern, rfcPersonType, validateRfc, validateRfcCheckDigit } from './rfc.ts';
export type { RfcPersonType } from './rfc.ts';
export { cluesInstitutions, cluesPattern, parseClues, validateClues } from './clues.ts';
export type { CluesParts } from './clues.ts';
export { defaultCedulaOptions, validateCedula } from './cedula.ts';
export type { CedulaOptions } from './cedula.ts';
export { bornAbroadCode, isCurpBirthState, isMexicanState, mexicanStates } from './states.ts';
export { curpInconvenientWords } from './inconvenient-words.ts';
export * from './systems.ts';
