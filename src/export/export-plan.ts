/**
 * What a bulk export may contain for the token that asks for it: the types it
 * may read, and for `patient/` scopes, only its patient's compartment. Pure;
 * the plan is stored with the job and compiled to SQL by export-query.ts, so
 * the background job exports exactly what the kick-off token could see.
 * https://hl7.org/fhir/uv/bulkdata/export.html and
 * https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html
 */
import type { Actor } from '../auth/actor.ts';
import { forbidden } from '../fhir/errors.ts';
import { roleForbids } from '../auth/roles.ts';
import { allows, onlyPatientScoped } from '../auth/scopes.ts';
import type { RowAccess } from '../search/row-access.ts';
import type { AssociatedData } from './associated-data.ts';
import type { TypeFilterPlan } from './type-filter.ts';

export type ExportLevel = 'system' | 'patient' | 'group';

export interface ExportPlan {
  level: ExportLevel;
  /** Types exported whole (within the level's bounds). */
  unrestricted: string[];
  /** Types the token reads only through `patient/` scopes: limited to `patient`'s compartment. */
  patientScoped: string[];
  patient?: string;
  /** Group level (or the `patient` parameter): the patients whose compartments are exported. */
  members?: string[];
  /** `_since`: only resources last updated at or after it. */
  since?: string;
  /** Kick-off parameters ignored under `Prefer: handling=lenient`, reported in the manifest's `error` file. */
  ignored?: string[];
  /** Parts of parameters not honoured under `Prefer: handling=lenient` (an `_elements` entry, a value…), reported likewise. */
  notes?: ExportNote[];
  /** `_typeFilter`: search queries a resource of their type must match one of (type-filter.ts). */
  typeFilter?: TypeFilterPlan;
  /** `_elements`: the entries honoured (export-elements.ts). */
  elements?: string[];
  /** `includeAssociatedData`: the Provenance of the exported resources too. */
  associated?: AssociatedData;
  /** The token's readable set, inside the queries of `_typeFilter` and `includeAssociatedData` (absent: every row). */
  access?: RowAccess;
}

export interface ExportNote {
  expression: string;
  es: string;
  en: string;
}

/** Whether the actor may read this type at all (scopes and role rules). */
export function readable(actor: Actor, type: string): boolean {
  return !roleForbids(actor.role, type, 'r') && allows(actor.scopes, type, 'r');
}

/**
 * The types to export: those asked for with `_type` (each must be readable,
 * else 403 naming it), or every candidate type the token may read (403 when
 * none). Types the token reads only through `patient/` scopes are held to
 * its patient.
 */
export function planTypes(actor: Actor, requested: readonly string[] | undefined, candidates: readonly string[]): Pick<ExportPlan, 'unrestricted' | 'patientScoped' | 'patient'> {
  let types: string[];
  if (requested) {
    const refused = requested.filter((t) => !readable(actor, t));
    if (refused.length > 0) {
      throw forbidden({
        es: `El token no permite leer ${refused.join(', ')}: quítelos de _type o pida un token con esos alcances`,
        en: `The token may not read ${refused.join(', ')}: remove them from _type or use a token with those scopes`,
      }, '_type');
    }
    types = [...new Set(requested)];
  } else {
    types = candidates.filter((t) => readable(actor, t));
  }
  if (types.length === 0) {
    throw forbidden({ es: 'Ningún alcance del token permite leer los tipos de esta exportación', en: 'No scope of the token allows reading the types of this export' });
  }
  const patientScoped = types.filter((t) => onlyPatientScoped(actor.scopes, t, 'r'));
  if (patientScoped.length > 0 && !actor.patient) {
    throw forbidden({ es: 'El token tiene alcance patient/ pero no indica el paciente (claim "patient")', en: 'The token has patient/ scopes but names no patient ("patient" claim)' });
  }
  return {
    unrestricted: types.filter((t) => !patientScoped.includes(t)),
    patientScoped,
    ...(patientScoped.length > 0 ? { patient: actor.patient } : {}),
  };
}
