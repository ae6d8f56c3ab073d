/**
 * CLUES, Clave Única de Establecimientos de Salud (DGIS catalogue), 11
 * characters: state (2 letters, the CURP codes), institution (3 letters),
 * consecutive (6 digits). No check digit is known.
 * Source: src/mx/README.md ("CLUES").
 */
import { invalid } from './id-check.ts';
import type { MxIdCheck, MxIdInvalid, MxIdLabel } from './id-check.ts';
import { isMexicanState, mexicanStates } from './states.ts';
import { upperCaseTextProblem } from './text-checks.ts';

const label: MxIdLabel = { es: 'CLUES inválida', en: 'Invalid CLUES' };

/** `^[A-Z]{5}\d{6}$`, e.g. `DFIMS000011`. */
export const cluesPattern = /^[A-Z]{5}\d{6}$/;

/**
 * Institution codes seen in real CLUES data (README). Other institutions
 * (IMSS-Bienestar, Pemex, Sedena, Semar…) exist with codes the README does not
 * give: they are accepted, with no name.
 */
export const cluesInstitutions: Readonly<Record<string, string>> = Object.freeze({
  IMS: 'IMSS',
  IST: 'ISSSTE',
  SSA: 'Secretaría de Salud',
});

export type CluesParts = {
  /** Two-letter state code, as in the CURP (`DF` = Ciudad de México). */
  state: string;
  stateName: string;
  /** Three-letter institution code (`IMS`, `IST`, `SSA`…). */
  institution: string;
  /** Undefined for institution codes not in `cluesInstitutions`. */
  institutionName: string | undefined;
  /** Six-digit consecutive. */
  consecutive: string;
};

/**
 * Splits a CLUES into state, institution and consecutive, or says what is
 * wrong: upper case, 11 characters, `^[A-Z]{5}\d{6}$`, and a state code of
 * one of the 32 states (`NE`, born abroad, is a CURP code, not a place for a
 * facility). The level of care is not in the key: it comes from the DGIS
 * catalogue's "NIVEL ATENCION" column.
 * Source: src/mx/README.md ("CLUES").
 */
export function parseClues(value: string): ({ ok: true } & CluesParts) | MxIdInvalid {
  const text = upperCaseTextProblem(value, label, false);
  if (text) {
    return text;
  }
  if (value.length !== 11) {
    return invalid(label, 'length', `debe tener 11 caracteres, tiene ${value.length}`, `must be 11 characters long, not ${value.length}`);
  }
  if (!cluesPattern.test(value)) {
    const letters = value.slice(0, 5);
    if (!/^[A-Z]{5}$/.test(letters)) {
      return invalid(
        label,
        'format',
        `los caracteres 1 a 5 (entidad e institución) deben ser letras, no "${letters}"`,
        `characters 1–5 (state and institution) must be letters, not "${letters}"`,
      );
    }
    const digits = value.slice(5);
    return invalid(
      label,
      'format',
      `los caracteres 6 a 11 (consecutivo) deben ser dígitos, no "${digits}"`,
      `characters 6–11 (consecutive) must be digits, not "${digits}"`,
    );
  }
  const state = value.slice(0, 2);
  if (!isMexicanState(state)) {
    return invalid(
      label,
      'state',
      `los caracteres 1 y 2 deben ser la clave de una entidad federativa (${Object.keys(mexicanStates).join(', ')}), no "${state}"`,
      `characters 1–2 must be a state code (${Object.keys(mexicanStates).join(', ')}), not "${state}"`,
    );
  }
  const institution = value.slice(2, 5);
  return {
    ok: true,
    state,
    stateName: mexicanStates[state] ?? state,
    institution,
    institutionName: cluesInstitutions[institution],
    consecutive: value.slice(5),
  };
}

/** `parseClues` without the parts. Source: src/mx/README.md ("CLUES"). */
export function validateClues(value: string): MxIdCheck {
  const parsed = parseClues(value);
  return parsed.ok ? { ok: true } : parsed;
}
