/**
 * Authorization of FHIR interactions by SMART scopes and role rules, in
 * three places: before the interaction (type and permission), inside the
 * write transaction (a `patient/` token may only write inside its patient's
 * compartment), and on the way out (what a token may not see is withheld, and
 * the answer says so). https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html
 */
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { patientsOf } from '../fhir/compartment.ts';
import { bilingual, FhirError, issue } from '../fhir/errors.ts';
import type { WriteCheck } from '../fhir/persist.ts';
import type { FhirResult } from '../fhir/types.ts';
import type { Actor } from './actor.ts';
import { roleForbids } from './roles.ts';
import { allows, onlyPatientScoped, type Permission } from './scopes.ts';
import { parseJson } from '../json/lossless.ts';

export interface Access {
  permission: Permission;
  /** Absent for system-level interactions (search or history across types). */
  resourceType?: string;
}

const permissionOf: Record<string, Permission> = {
  create: 'c',
  read: 'r',
  vread: 'r',
  'history-instance': 'r',
  update: 'u',
  patch: 'u',
  delete: 'd',
  'search-type': 's',
  'search-system': 's',
  'history-type': 's',
  'history-system': 's',
};

export function accessFor(interaction: string, resourceType: string | undefined): Access {
  return { permission: permissionOf[interaction] ?? 'r', resourceType };
}

const permissionWords: Record<Permission, { es: string; en: string }> = {
  c: { es: 'crear', en: 'create' },
  r: { es: 'leer', en: 'read' },
  u: { es: 'modificar', en: 'update' },
  d: { es: 'borrar', en: 'delete' },
  s: { es: 'buscar', en: 'search' },
};

export function forbidden(message: { es: string; en: string }, expression?: string): FhirError {
  return new FhirError(403, [issue('forbidden', message, expression)]);
}

/** Throws 403 unless the actor may do `access`. */
export function authorize(actor: Actor, access: Access): void {
  const word = permissionWords[access.permission];
  const type = access.resourceType;
  const ruled = roleForbids(actor.role, type ?? '*', access.permission);
  if (ruled) {
    throw forbidden(ruled);
  }
  if (type === undefined) {
    if (!actor.scopes.some((s) => s.permissions.has(access.permission))) {
      throw forbidden({ es: `Ningún alcance (scope) del token permite ${word.es}`, en: `No scope of the token allows to ${word.en}` });
    }
    return;
  }
  if (!allows(actor.scopes, type, access.permission)) {
    throw forbidden({
      es: `El token no permite ${word.es} ${type}: falta un scope como user/${type}.${access.permission} (tiene "${actor.scope}")`,
      en: `The token does not allow to ${word.en} ${type}: a scope like user/${type}.${access.permission} is missing (it has "${actor.scope}")`,
    });
  }
  if (onlyPatientScoped(actor.scopes, type, access.permission) && !actor.patient) {
    throw forbidden({ es: 'El token tiene alcance patient/ pero no indica el paciente (claim "patient")', en: 'The token has patient/ scopes but names no patient ("patient" claim)' });
  }
}

/** Whether the actor may see this resource (read or search access, and its patient for patient/ scopes). */
export function canSee(actor: Actor, resource: Resource, knownPatients?: readonly string[]): boolean {
  const type = resource.resourceType;
  if (type === 'OperationOutcome') {
    return true;
  }
  if (type === 'Parameters') {
    // An operation's answer, not stored data (the route's access already gated the operation): visible when what it
    // embeds is, and for a patient/ token only when the answer is about that token's patient (knownPatients).
    const embedded = (resource.parameter ?? []).flatMap((p) => [p.resource, ...(p.part ?? []).map((q) => q.resource)]);
    if (!embedded.every((r) => r === undefined || canSee(actor, r))) {
      return false;
    }
    return !actor.scopes.every((s) => s.context === 'patient') || (actor.patient !== undefined && (knownPatients ?? []).includes(actor.patient));
  }
  const permission: Permission | undefined = allows(actor.scopes, type, 'r') ? 'r' : allows(actor.scopes, type, 's') ? 's' : undefined;
  if (!permission) {
    return false;
  }
  if (!onlyPatientScoped(actor.scopes, type, permission)) {
    return true;
  }
  return actor.patient !== undefined && (knownPatients ? knownPatients.includes(actor.patient) : patientsOf(resource).has(actor.patient));
}

/** Tokens with an unrestricted read scope (`user/*.rs`, `system/*.rs`) need no filtering of what they get. */
function seesEverything(actor: Actor): boolean {
  return actor.scopes.some((s) => s.context !== 'patient' && s.resourceType === '*' && s.permissions.has('r') && s.permissions.has('s'));
}

function withheld(count: number): BundleEntry {
  return {
    resource: {
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: 'warning',
          code: 'suppressed',
          details: {
            text: bilingual({
              es: `Se omitieron ${count} entradas que los alcances del token no permiten ver`,
              en: `${count} entries were withheld: the token's scopes do not allow seeing them`,
            }),
          },
        },
      ],
    },
    search: { mode: 'outcome' },
  };
}

/**
 * Applies read permissions to what an interaction returns: a single resource
 * the actor may not see is a 403; bundle entries it may not see are removed
 * and an OperationOutcome entry says how many (the total is dropped so it
 * leaks nothing).
 */
export function filterResult(actor: Actor, single: boolean, result: FhirResult): FhirResult {
  if (result.body === undefined || seesEverything(actor)) {
    return result;
  }
  const body = (typeof result.body === 'string' ? parseJson(result.body) : result.body) as Resource;
  if (single || body.resourceType !== 'Bundle') {
    if (!canSee(actor, body, result.patients)) {
      throw forbidden({
        es: `El token no permite ver ${body.resourceType}/${body.id ?? ''}: está fuera de sus alcances o del expediente de su paciente`,
        en: `The token may not see ${body.resourceType}/${body.id ?? ''}: it is outside its scopes or its patient's compartment`,
      });
    }
    return result;
  }
  const bundle = body as Bundle;
  const entries = bundle.entry ?? [];
  const kept = entries.filter((e) => (e.resource ? canSee(actor, e.resource) : false));
  if (kept.length === entries.length) {
    return result;
  }
  const { total: _total, ...rest } = bundle;
  return { ...result, body: { ...rest, entry: [...kept, withheld(entries.length - kept.length)] } };
}

/** Before a write is sent: a patient/ token writes only within its patient's compartment, before and after. */
export const compartmentWriteGuard: WriteCheck = (written, ctx) => {
  const actor = ctx.actor;
  const { stored, previous } = written;
  const permission: Permission = stored.deleted ? 'd' : previous && !previous.deleted ? 'u' : 'c';
  if (!actor || !onlyPatientScoped(actor.scopes, stored.resourceType, permission)) {
    return;
  }
  const versions = [stored, previous].filter((v) => v?.content);
  for (const version of versions) {
    if (!version?.patients.includes(actor.patient ?? '')) {
      throw forbidden({
        es: `Un token de paciente solo puede escribir en el expediente del paciente ${actor.patient ?? ''}`,
        en: `A patient token may only write within the record of patient ${actor.patient ?? ''}`,
      });
    }
  }
};
