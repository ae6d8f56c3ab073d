/**
 * What the MX profiles need beyond StructureDefinition constraints: the
 * identifier algorithms of src/mx (CURP check digit and date, CURP against
 * birthDate and gender, NSS, RFC, CLUES, cédula), expediente systems named by
 * a valid CLUES, CIE-10 code format, BMI against the weight and height it was
 * derived from, and a prescriber who is a Practitioner with cédula. Pure
 * except for `resolve`, which the caller supplies (a database read).
 * Rules: src/mx/README.md.
 */
import type { Identifier, Observation, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { issue } from '../fhir/errors.ts';
import type { MxIdCheck } from '../mx/index.ts';
import {
  cedulaProfesionalSystem,
  cie10System,
  cluesSystem,
  curpBirthDate,
  curpSex,
  curpPattern,
  curpSystem,
  expedienteSystemPrefix,
  icd10System,
  nssSystem,
  parseClues,
  rfcSystem,
  validateCedula,
  validateClues,
  validateCurp,
  validateNss,
  validateRfc,
  validateRfcCheckDigit,
} from '../mx/index.ts';

/** Reads a referenced resource (`Practitioner/123`); undefined when it does not exist or is deleted. */
export type ReferenceResolver = (reference: string) => Promise<Resource | undefined>;

export interface MxRuleOptions {
  resolve?: ReferenceResolver;
  /** CURP birth date / sex differing from birthDate / gender: an error (default) or a warning. */
  curpConsistency?: 'error' | 'warning';
}

type Out = OperationOutcomeIssue[];

function idCheck(out: Out, check: MxIdCheck, path: string, severity: 'error' | 'warning' = 'error'): void {
  if (!check.ok) {
    out.push(issue('value', { es: check.es, en: check.en }, path, severity));
  }
}

function patientRules(patient: Record<string, unknown>, out: Out, options: MxRuleOptions): void {
  const identifiers = (Array.isArray(patient.identifier) ? patient.identifier : []) as Identifier[];
  const hasCurp = identifiers.some((id) => id.system === curpSystem);
  identifiers.forEach((id, i) => {
    const path = `Patient.identifier[${i}]`;
    const value = id.value ?? '';
    // A CURP sent under another system (or none) leaves the patient "without CURP" (mx-pat-1): say which system it needs.
    if (!hasCurp && id.system !== curpSystem && curpPattern.test(value.trim().toUpperCase())) {
      const sentEs = id.system === undefined ? 'no trae system' : `llegó "${id.system}"`;
      const sentEn = id.system === undefined ? 'it has none' : `got "${id.system}"`;
      out.push(
        issue(
          'value',
          {
            es: `${value} parece una CURP, pero una CURP se envía con system ${curpSystem} (${sentEs})`,
            en: `${value} looks like a CURP, but a CURP is sent with system ${curpSystem} (${sentEn})`,
          },
          `${path}.system`,
        ),
      );
    }
    if (id.system === curpSystem) {
      const check = validateCurp(value);
      idCheck(out, check, `${path}.value`);
      if (check.ok) {
        const severity = options.curpConsistency ?? 'error';
        const born = curpBirthDate(value);
        if (typeof patient.birthDate === 'string' && born && patient.birthDate !== born) {
          out.push(
            issue('business-rule', { es: `La CURP ${value} indica fecha de nacimiento ${born}, pero Patient.birthDate es ${patient.birthDate}`, en: `CURP ${value} encodes birth date ${born}, but Patient.birthDate is ${patient.birthDate}` }, ['Patient.birthDate', `${path}.value`], severity),
          );
        }
        const sex = curpSex(value);
        if (typeof patient.gender === 'string' && patient.gender !== 'unknown' && sex && patient.gender !== sex) {
          out.push(
            issue('business-rule', { es: `La CURP ${value} indica sexo ${value.charAt(10)} (${sex}), pero Patient.gender es ${patient.gender}`, en: `CURP ${value} encodes sex ${value.charAt(10)} (${sex}), but Patient.gender is ${patient.gender}` }, ['Patient.gender', `${path}.value`], severity),
          );
        }
      }
    } else if (id.system === nssSystem) {
      idCheck(out, validateNss(value), `${path}.value`);
    } else if (id.system === rfcSystem) {
      const check = validateRfc(value);
      idCheck(out, check, `${path}.value`);
      if (check.ok) {
        idCheck(out, validateRfcCheckDigit(value), `${path}.value`, 'warning');
      }
    }
    const isRecordNumber = id.type?.coding?.some((c) => c.code === 'MR' && c.system === 'http://terminology.hl7.org/CodeSystem/v2-0203') ?? false;
    if (id.system?.startsWith(expedienteSystemPrefix)) {
      const clues = parseClues(id.system.slice(expedienteSystemPrefix.length));
      if (!clues.ok) {
        out.push(issue('value', { es: `El system del expediente debe terminar en la CLUES de la unidad que lo abrió: ${clues.es}`, en: `The expediente system must end with the CLUES of the unit that opened it: ${clues.en}` }, `${path}.system`));
      }
    } else if (isRecordNumber) {
      const sent = id.system === undefined ? 'no trae system / it has none' : `"${id.system}"`;
      out.push(
        issue(
          'value',
          {
            es: `El número de expediente ${value} (type MR) debe llevar system ${expedienteSystemPrefix}{CLUES}, con la CLUES de la unidad que lo abrió; ${sent}`,
            en: `Expediente number ${value} (type MR) must carry system ${expedienteSystemPrefix}{CLUES}, the CLUES of the unit that opened it; ${sent}`,
          },
          `${path}.system`,
        ),
      );
    }
  });
}

function unitRules(type: string, resource: Record<string, unknown>, out: Out): void {
  const identifiers = (Array.isArray(resource.identifier) ? resource.identifier : []) as Identifier[];
  identifiers.forEach((id, i) => {
    if (id.system === cluesSystem) {
      idCheck(out, validateClues(id.value ?? ''), `${type}.identifier[${i}].value`);
    }
  });
}

function practitionerRules(resource: Record<string, unknown>, out: Out): void {
  const identifiers = (Array.isArray(resource.identifier) ? resource.identifier : []) as Identifier[];
  identifiers.forEach((id, i) => {
    if (id.system === cedulaProfesionalSystem) {
      idCheck(out, validateCedula(id.value ?? ''), `Practitioner.identifier[${i}].value`);
    }
  });
}

const cie10Pattern = /^[A-Z]\d{2}(\.?[0-9A-Z]{1,4})?$/;

function familyHistoryRules(resource: Record<string, unknown>, out: Out): void {
  const conditions = (Array.isArray(resource.condition) ? resource.condition : []) as { code?: { coding?: { system?: string; code?: string }[] } }[];
  conditions.forEach((c, i) =>
    c.code?.coding?.forEach((coding, j) => {
      if ((coding.system === icd10System || coding.system === cie10System) && !cie10Pattern.test(coding.code ?? '')) {
        out.push(
          issue('code-invalid', { es: `"${coding.code ?? ''}" no es una clave CIE-10 (letra, dos dígitos y hasta cuatro caracteres, p. ej. C50 o C50.9 / I10X)`, en: `"${coding.code ?? ''}" is not a CIE-10 (ICD-10) code (a letter, two digits and up to four characters, e.g. C50 or C50.9 / I10X)` }, `FamilyMemberHistory.condition[${i}].code.coding[${j}].code`),
        );
      }
    }),
  );
}

async function findReferenced(resource: Resource, reference: string | undefined, options: MxRuleOptions): Promise<Resource | undefined> {
  if (!reference) {
    return undefined;
  }
  if (reference.startsWith('#')) {
    return ((resource as { contained?: Resource[] }).contained ?? []).find((c) => c.id === reference.slice(1));
  }
  return options.resolve?.(reference);
}

async function prescriberRules(resource: Resource, out: Out, options: MxRuleOptions): Promise<void> {
  const reference = (resource as { requester?: { reference?: string } }).requester?.reference;
  const path = 'MedicationRequest.requester';
  const explain = { es: 'la receta la firma un médico: requester debe referir a un Practitioner con cédula profesional', en: 'a prescription is signed by a physician: requester must reference a Practitioner with a cédula profesional' };
  if (reference === undefined) {
    return; // cardinality is the profile's job (requester 1..1)
  }
  if (!reference.startsWith('#') && !/^Practitioner\/[A-Za-z0-9\-.]{1,64}$/.test(reference)) {
    out.push(issue('business-rule', { es: `requester "${reference}" no es un Practitioner: ${explain.es}`, en: `requester "${reference}" is not a Practitioner: ${explain.en}` }, path));
    return;
  }
  if (!reference.startsWith('#') && !options.resolve) {
    return;
  }
  const practitioner = await findReferenced(resource, reference, options);
  if (practitioner?.resourceType !== 'Practitioner') {
    out.push(issue('business-rule', { es: `requester "${reference}" no existe: ${explain.es}`, en: `requester "${reference}" does not exist: ${explain.en}` }, path));
    return;
  }
  const cedula = (practitioner.identifier ?? []).find((id) => id.system === cedulaProfesionalSystem && id.value && validateCedula(id.value).ok);
  if (!cedula) {
    out.push(issue('business-rule', { es: `El Practitioner "${reference}" no tiene cédula profesional válida (identifier con system ${cedulaProfesionalSystem}): ${explain.es}`, en: `Practitioner "${reference}" has no valid cédula profesional (identifier with system ${cedulaProfesionalSystem}): ${explain.en}` }, path));
  }
}

function loincQuantity(obs: Observation | undefined, code: string, unit: string): number | undefined {
  if (!obs?.code?.coding?.some((c) => c.system === 'http://loinc.org' && c.code === code)) {
    return undefined;
  }
  return obs.valueQuantity?.code === unit && typeof obs.valueQuantity.value === 'number' ? obs.valueQuantity.value : undefined;
}

/** BMI = weight / height², checked against the observations it was derived from; 0.05 kg/m2 covers rounding to one decimal. */
async function bmiRules(resource: Observation, out: Out, options: MxRuleOptions): Promise<void> {
  const bmi = resource.valueQuantity?.value;
  if (typeof bmi !== 'number' || !resource.derivedFrom?.length) {
    return;
  }
  let weight: number | undefined;
  let height: number | undefined;
  for (const ref of resource.derivedFrom) {
    const source = (await findReferenced(resource, ref.reference, options)) as Observation | undefined;
    weight ??= loincQuantity(source, '29463-7', 'kg');
    height ??= loincQuantity(source, '8302-2', 'cm');
  }
  if (weight === undefined || height === undefined || height <= 0) {
    return;
  }
  const expected = weight / (height / 100) ** 2;
  if (Math.abs(expected - bmi) > 0.05) {
    const shown = expected.toFixed(2);
    out.push(
      issue('business-rule', { es: `IMC ${bmi} kg/m2 no corresponde a peso ${weight} kg y talla ${height} cm (derivedFrom): debe ser ${shown} kg/m2 (±0.05 por redondeo)`, en: `BMI ${bmi} kg/m2 does not match weight ${weight} kg and height ${height} cm (derivedFrom): it must be ${shown} kg/m2 (±0.05 for rounding)` }, 'Observation.valueQuantity.value'),
    );
  }
}

/** The MX rules of the profile `profileId` (e.g. `mx-patient`), applied to `resource`. */
export async function mxRules(profileId: string, resource: Resource, options: MxRuleOptions = {}): Promise<OperationOutcomeIssue[]> {
  const out: Out = [];
  const raw = resource as unknown as Record<string, unknown>;
  switch (profileId) {
    case 'mx-patient':
      patientRules(raw, out, options);
      break;
    case 'mx-organization':
    case 'mx-location':
      unitRules(resource.resourceType, raw, out);
      break;
    case 'mx-practitioner':
      practitionerRules(raw, out);
      break;
    case 'mx-family-member-history':
      familyHistoryRules(raw, out);
      break;
    case 'mx-medication-request':
      await prescriberRules(resource, out, options);
      break;
    case 'mx-bmi':
      await bmiRules(resource as Observation, out, options);
      break;
    default:
      break;
  }
  return out;
}
