/**
 * SMART on FHIR scopes, v2 (`patient/Observation.rs`) and v1
 * (`user/*.read`, `.write`, `.*`). Pure: parse once per token, then ask.
 * https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html
 */

export type ScopeContext = 'patient' | 'user' | 'system';
/** create, read, update, delete, search (SMART v2 letters). */
export type Permission = 'c' | 'r' | 'u' | 'd' | 's';

export interface ResourceScope {
  context: ScopeContext;
  /** A resource type or `*`. */
  resourceType: string;
  permissions: ReadonlySet<Permission>;
}

const v1: Record<string, Permission[]> = { read: ['r', 's'], write: ['c', 'u', 'd'], '*': ['c', 'r', 'u', 'd', 's'] };
const scopePattern = /^(patient|user|system)\/([A-Za-z]+|\*)\.([a-z*]+)(\?.*)?$/;
const v2Letters = /^c?r?u?d?s?$/;

/** The resource scopes in a space-separated scope string; launch, openid and other scopes are ignored. */
export function parseScopes(scope: string | undefined): ResourceScope[] {
  const out: ResourceScope[] = [];
  for (const token of (scope ?? '').split(/\s+/)) {
    const match = scopePattern.exec(token);
    if (!match) {
      continue;
    }
    const [, context, resourceType, access] = match as unknown as [string, ScopeContext, string, string];
    // v2 query parameters on scopes (`?category=…`) narrow access we cannot enforce yet: ignoring them would widen it, so the scope is dropped.
    if (match[4]) {
      continue;
    }
    const permissions = v1[access] ?? (v2Letters.test(access) ? (access.split('') as Permission[]) : undefined);
    if (permissions?.length) {
      out.push({ context, resourceType, permissions: new Set(permissions) });
    }
  }
  return out;
}

/** The scopes that grant `permission` on `resourceType` (empty: not allowed). */
export function grantingScopes(scopes: readonly ResourceScope[], resourceType: string, permission: Permission): ResourceScope[] {
  return scopes.filter((s) => (s.resourceType === '*' || s.resourceType === resourceType) && s.permissions.has(permission));
}

export function allows(scopes: readonly ResourceScope[], resourceType: string, permission: Permission): boolean {
  return grantingScopes(scopes, resourceType, permission).length > 0;
}

/**
 * Whether access through these scopes is limited to one patient's compartment:
 * true when every scope that grants it is a `patient/` scope.
 */
export function onlyPatientScoped(scopes: readonly ResourceScope[], resourceType: string, permission: Permission): boolean {
  const granting = grantingScopes(scopes, resourceType, permission);
  return granting.length > 0 && granting.every((s) => s.context === 'patient');
}

const breadth: Record<ScopeContext, number> = { patient: 0, user: 1, system: 2 };

/**
 * What both scope lists allow: for each pair, the narrower context (a `patient/` scope is narrower
 * than `user/`, which is narrower than `system/`), the narrower type, and the common permissions.
 */
export function intersectScopes(given: readonly ResourceScope[], bound: readonly ResourceScope[]): ResourceScope[] {
  const out: ResourceScope[] = [];
  for (const g of given) {
    for (const b of bound) {
      const resourceType = g.resourceType === '*' ? b.resourceType : b.resourceType === '*' || b.resourceType === g.resourceType ? g.resourceType : undefined;
      const permissions = new Set([...g.permissions].filter((p) => b.permissions.has(p)));
      if (resourceType === undefined || permissions.size === 0) continue;
      out.push({ context: breadth[g.context] <= breadth[b.context] ? g.context : b.context, resourceType, permissions });
    }
  }
  return out;
}
