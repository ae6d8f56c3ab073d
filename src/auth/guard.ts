/**
 * Authorization of FHIR interactions by SMART scopes and role rules: before
 * the interaction (type and permission), inside every query (the readable
 * set, src/auth/readable.ts, compiled into SQL), before content (a resource
 * outside a `patient/` token's compartment is answered as if it did not
 * exist), inside the write transaction (a `patient/` token may only write
 * inside its patient's compartment), and as a last check on the way out.
 * https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html
 */
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { patientsOf } from '../fhir/compartment.ts';
import { forbidden, notFound } from '../fhir/errors.ts';
import type { WriteCheck } from '../fhir/persist.ts';
import type { FhirResult } from '../fhir/types.ts';
import type { Filter } from '../search/search-request.ts';
import type { Actor } from './actor.ts';
import { typeAccess } from '../search/row-access.ts';
import { rowAccessFor } from './readable.ts';
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

// The 403 lives with the other errors (fhir/errors.ts) so that modules below the guard (export plans) need not import it.
export { forbidden };

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

/**
 * The last check on what an interaction returns (the queries already hold to
 * the readable set, so normally nothing is left to remove): a single resource
 * the actor may not see is a 404, the same as for an id that never existed;
 * bundle entries it may not see are dropped without a trace, since a count of
 * what was withheld would itself tell something.
 */
export function filterResult(actor: Actor, single: boolean, result: FhirResult): FhirResult {
  if (result.body === undefined || seesEverything(actor)) {
    return result;
  }
  const body = (typeof result.body === 'string' ? parseJson(result.body) : result.body) as Resource;
  if (single || body.resourceType !== 'Bundle') {
    if (!canSee(actor, body, result.patients)) {
      throw notFound({ es: `No existe ${body.resourceType}/${body.id ?? ''}`, en: `${body.resourceType}/${body.id ?? ''} not found` }, `${body.resourceType}.id`);
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
  return { ...result, body: { ...rest, entry: kept } };
}

/**
 * Whether a stored resource must be answered as if it did not exist: the
 * actor reads this type only inside its patient's compartment (or may do
 * `permission` only there), and the resource is outside it. Decided from the
 * stored compartment column before anything about the resource's content or
 * version is looked at.
 */
export function outsideCompartment(actor: Actor | undefined, resourceType: string, permission: Permission, patients: readonly string[]): boolean {
  if (!actor) return false;
  const level = typeAccess(rowAccessFor(actor), resourceType);
  if (level === 'all') return false;
  const limited = level === 'compartment' || onlyPatientScoped(actor.scopes, resourceType, permission);
  return limited && !patients.includes(actor.patient ?? '');
}

function maySearch(actor: Actor, resourceType: string): boolean {
  try {
    authorize(actor, { permission: 's', resourceType });
    return true;
  } catch {
    return false;
  }
}

/**
 * Every type a chain or _has passes through must be searchable: 403 naming the
 * type and the scope it lacks. An implicit chain (`subject.name`, whose
 * reference may point at several types) keeps the target types the token may
 * search and drops the others, which could only ever match nothing for it.
 */
export function authorizeTraversal(actor: Actor | undefined, filters: readonly Filter[]): Filter[] {
  if (!actor) return [...filters];
  const check = (f: Filter): Filter => {
    if (f.kind === 'has') {
      authorize(actor, { permission: 's', resourceType: f.sourceType });
      return { ...f, filter: check(f.filter) };
    }
    if (f.kind === 'chain') {
      const searchable = f.targets.filter((t) => maySearch(actor, t.type));
      const kept = f.targets.length > 1 && searchable.length > 0 ? searchable : f.targets;
      for (const t of kept) authorize(actor, { permission: 's', resourceType: t.type });
      return { ...f, targets: kept.map((t) => ({ ...t, filter: check(t.filter) })) };
    }
    return f;
  };
  return filters.map(check);
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
