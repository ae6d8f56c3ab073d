/**
 * Roles of the ECU and what each may do when its token carries no scopes.
 * NOM-024-SSA3-2012 asks for role-based access; the scope strings here are
 * the documented defaults, and `roleForbids` holds the rules no scope can lift.
 */
import type { Permission } from './scopes.ts';

export const roles = ['patient', 'clinician', 'pharmacy', 'institution', 'auditor', 'admin'] as const;
export type Role = (typeof roles)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (roles as readonly string[]).includes(value);
}

/** Resources an auditor may read besides the clinical record itself (summaries are read through $summary). */
export const defaultScopes: Record<Role, string> = {
  patient: 'patient/*.rs',
  clinician: 'user/*.cruds',
  pharmacy: 'user/MedicationRequest.rs user/MedicationDispense.cruds user/Medication.rs user/Patient.rs user/Practitioner.rs user/PractitionerRole.rs user/Organization.rs user/Location.rs',
  institution: 'system/*.cruds',
  auditor: 'user/*.rs',
  admin: 'system/*.cruds',
};

/**
 * The most each role may ever do: a token's effective scopes are the intersection of the scopes it carries
 * and these (`intersectScopes` in scopes.ts, applied in actor.ts), so an identity provider's mistake (`role=patient` with `system/*.cruds`)
 * cannot widen a role. The one table to change when a deployment needs other bounds; documented in the README.
 */
export const maxScopes: Record<Role, string> = {
  patient: 'patient/*.rs',
  clinician: 'user/*.cruds patient/*.cruds',
  pharmacy: defaultScopes.pharmacy,
  institution: 'system/*.cruds user/*.cruds patient/*.cruds',
  auditor: 'system/*.rs user/*.rs patient/*.rs',
  admin: 'system/*.cruds user/*.cruds patient/*.cruds',
};

const writes: ReadonlySet<Permission> = new Set(['c', 'u', 'd']);

/** A reason in Spanish and English when the role may never do this, whatever its scopes say. */
export function roleForbids(role: Role | undefined, resourceType: string, permission: Permission): { es: string; en: string } | undefined {
  if (writes.has(permission) && (resourceType === 'AuditEvent')) {
    return { es: 'La bitácora de auditoría solo la escribe el servidor', en: 'The audit trail is written by the server only' };
  }
  // A dispense moves the receta ledger (controlled medicines included): a pharmacy's act. Institution clients relay
  // records and do not dispense; a pharmacy system acting for a pharmacy gets a pharmacy-role token. Admin: operators.
  if (resourceType === 'MedicationDispense' && writes.has(permission) && role !== 'pharmacy' && role !== 'admin') {
    return { es: 'Solo una farmacia (rol pharmacy) crea, modifica o cancela surtidos (MedicationDispense)', en: 'Only a pharmacy (pharmacy role) creates, updates or cancels dispenses (MedicationDispense)' };
  }
  if (role === 'auditor' && writes.has(permission)) {
    return { es: 'El rol auditor es de solo lectura: no puede crear, modificar ni borrar', en: 'The auditor role is read-only: it cannot create, change or delete' };
  }
  return undefined;
}
