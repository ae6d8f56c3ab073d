/**
 * The two-letter state codes RENAPO uses in the CURP (characters 12–13),
 * which CLUES also starts with. Source: RENAPO, Instructivo normativo para la
 * asignación de la CURP, as listed in src/mx/README.md ("State codes").
 */

/** The 32 federal entities, by CURP code. `DF` is still the code of Ciudad de México. */
export const mexicanStates: Readonly<Record<string, string>> = Object.freeze({
  AS: 'Aguascalientes',
  BC: 'Baja California',
  BS: 'Baja California Sur',
  CC: 'Campeche',
  CL: 'Coahuila',
  CM: 'Colima',
  CS: 'Chiapas',
  CH: 'Chihuahua',
  DF: 'Ciudad de México',
  DG: 'Durango',
  GT: 'Guanajuato',
  GR: 'Guerrero',
  HG: 'Hidalgo',
  JC: 'Jalisco',
  MC: 'Estado de México',
  MN: 'Michoacán',
  MS: 'Morelos',
  NT: 'Nayarit',
  NL: 'Nuevo León',
  OC: 'Oaxaca',
  PL: 'Puebla',
  QT: 'Querétaro',
  QR: 'Quintana Roo',
  SP: 'San Luis Potosí',
  SL: 'Sinaloa',
  SR: 'Sonora',
  TC: 'Tabasco',
  TS: 'Tamaulipas',
  TL: 'Tlaxcala',
  VZ: 'Veracruz',
  YN: 'Yucatán',
  ZS: 'Zacatecas',
});

/** CURP code for a person born outside Mexico (nacido en el extranjero). */
export const bornAbroadCode = 'NE';

/** True for the 32 state codes (not `NE`). */
export function isMexicanState(code: string): boolean {
  return Object.hasOwn(mexicanStates, code);
}

/** True for the codes allowed as CURP state of birth: the 32 states and `NE`. */
export function isCurpBirthState(code: string): boolean {
  return code === bornAbroadCode || isMexicanState(code);
}
