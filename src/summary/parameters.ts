/**
 * Building blocks of the `$resumen-medico` Parameters: a value is a parameter
 * with `value[x]`, a block is a parameter with `part`, and a missing value is
 * a parameter with the data-absent-reason extension and a `razon` part
 * (Spanish / English) — explicit, never invented.
 * https://hl7.org/fhir/R4/parameters.html, https://hl7.org/fhir/R4/extension-data-absent-reason.html
 */
import type { ParametersParameter } from '@medplum/fhirtypes';
import { bilingual, type Message } from '../fhir/errors.ts';

export const dataAbsentReasonUrl = 'http://hl7.org/fhir/StructureDefinition/data-absent-reason';

/** data-absent-reason codes we use: not in the record, withheld by the token's scopes, does not apply. */
export type AbsentReason = 'unknown' | 'masked' | 'not-applicable';

export type Param = ParametersParameter;
export type Value = Omit<ParametersParameter, 'name' | 'part' | 'resource'>;

export function value(name: string, v: Value): Param {
  return { name, ...v };
}

export function block(name: string, parts: (Param | undefined)[]): Param {
  return { name, part: parts.filter((p): p is Param => p !== undefined) };
}

export function absent(name: string, reason: AbsentReason, why: Message): Param {
  return { name, extension: [{ url: dataAbsentReasonUrl, valueCode: reason }], part: [{ name: 'razon', valueString: bilingual(why) }] };
}

/** A value when present, else the absence with its reason. */
export function valueOr(name: string, v: Value | undefined, reason: AbsentReason, why: Message): Param {
  return v === undefined ? absent(name, reason, why) : value(name, v);
}

export function isAbsent(p: Param | undefined): boolean {
  return p?.extension?.some((e) => e.url === dataAbsentReasonUrl) ?? false;
}
