/**
 * The result every Mexican identifier check returns: ok, or why not. A
 * failure carries a machine-readable `reason` and a specific, actionable
 * message in Spanish and English (the same `{ es, en }` shape the server's
 * errors use), so a caller can put it straight into an OperationOutcome.
 */

/** Why an identifier was rejected; the message says exactly what is wrong. */
export type MxIdReason =
  | 'whitespace' // spaces or other white space anywhere in the value
  | 'lowercase' // lower-case letters where the identifier is upper case
  | 'accent' // accented vowels
  | 'enye' // Ñ where the identifier writes X (CURP)
  | 'characters' // characters outside the identifier's alphabet (dashes, dots…)
  | 'length'
  | 'generic' // a placeholder value that identifies nobody
  | 'format' // a character in a position that does not allow it
  | 'sex'
  | 'state'
  | 'date' // the encoded date does not exist
  | 'inconvenient-word'
  | 'check-digit';

export type MxIdInvalid = { ok: false; reason: MxIdReason; es: string; en: string };

export type MxIdCheck = { ok: true } | MxIdInvalid;

/** How an identifier names itself at the start of a message, with Spanish gender agreement ("CURP inválida", "RFC inválido"). */
export type MxIdLabel = { es: string; en: string };

export function invalid(label: MxIdLabel, reason: MxIdReason, es: string, en: string): MxIdInvalid {
  return { ok: false, reason, es: `${label.es}: ${es}`, en: `${label.en}: ${en}` };
}
