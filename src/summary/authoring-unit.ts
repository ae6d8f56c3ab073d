/**
 * Which unit (CLUES) authored a clinical record, and so its level of care.
 *
 * Rule (README, "Level of care of a record"):
 * 1. At write time the server stamps `meta.extension[mx-unidad-autora]`
 *    (valueIdentifier with the CLUES system) on every version of a resource in
 *    some patient's compartment, from the `clues` claim of the writer's token.
 *    A clinician cannot claim another unit: whatever the client sent there is
 *    replaced (or removed when the token has no CLUES). Institution and admin
 *    tokens — the interfaces that bring in records from other institutions —
 *    are relays, not authors: the record keeps what it arrived with (a stamp
 *    from the sending institution, or none).
 * 2. When a record carries no stamp (written before this rule, or received
 *    without one), a Provenance of the record (agent.onBehalfOf, else agent.who,
 *    when an Organization) names the unit, else the record's own author element
 *    when it is an Organization (Encounter.serviceProvider, performer, requester,
 *    recorder, asserter).
 * 3. The level of care is the `mx-nivel-atencion` extension of that unit's
 *    Organization (found by CLUES, or by reference); nothing else is guessed.
 */
import type { Extension, Identifier, Organization, Reference, Resource } from '@medplum/fhirtypes';
import type { StampHook } from '../fhir/persist.ts';
import { cluesSystem } from '../mx/systems.ts';
import { setStoredContent, storedResource } from '../store/stored-content.ts';

export const authoringUnitUrl = 'https://ecu-fhir.org/fhir/StructureDefinition/mx-unidad-autora';
export const levelOfCareUrl = 'https://ecu-fhir.org/fhir/StructureDefinition/mx-nivel-atencion';

/**
 * System roles: their tokens relay records (an institution's interface, an
 * administrator's load); their CLUES is not the author's, so what the record
 * carries is kept as it came, stamp or not.
 */
const relayingRoles: ReadonlySet<string> = new Set(['institution', 'admin']);

type WithMeta = Resource & { meta?: { extension?: Extension[] } & Record<string, unknown> };

/** The stamped authoring CLUES of a record, if any. */
export function stampedClues(resource: Resource): string | undefined {
  const ext = (resource as WithMeta).meta?.extension?.find((e) => e.url === authoringUnitUrl);
  const id = ext?.valueIdentifier;
  return id?.system === cluesSystem && typeof id.value === 'string' ? id.value : undefined;
}

/** Stamps the writer's CLUES on each version of a clinical record (rule 1 above). */
export const stampAuthoringUnit: StampHook = (stored, ctx) => {
  const actor = ctx.actor;
  if (!actor || stored.content === null || stored.patients.length === 0) {
    return;
  }
  if (relayingRoles.has(actor.role ?? '')) {
    return;
  }
  if (actor.clues === undefined && !stored.content.includes(authoringUnitUrl)) {
    return;
  }
  const resource = storedResource<WithMeta>(stored)!;
  const others = (resource.meta?.extension ?? []).filter((e) => e.url !== authoringUnitUrl);
  const stamp: Extension[] = actor.clues ? [{ url: authoringUnitUrl, valueIdentifier: { system: cluesSystem, value: actor.clues } }] : [];
  const extension = [...others, ...stamp];
  const { extension: _old, ...meta } = resource.meta ?? {};
  resource.meta = extension.length > 0 ? { extension, ...meta } : meta;
  setStoredContent(stored, resource);
};

export type Level = '1' | '2' | '3';

/** The level of care an Organization declares (mx-nivel-atencion), if any. */
export function levelOf(org: Organization | undefined): Level | undefined {
  const code = org?.extension?.find((e) => e.url === levelOfCareUrl)?.valueCoding?.code;
  return code === '1' || code === '2' || code === '3' ? code : undefined;
}

export function cluesOf(org: Organization | undefined): string | undefined {
  return org?.identifier?.find((i: Identifier) => i.system === cluesSystem)?.value;
}

/** Organization references among a record's own author elements (rule 2, last step). */
export function authorOrganizationRefs(resource: Resource): string[] {
  const r = resource as unknown as Record<string, unknown>;
  const refs: (Reference | undefined)[] = [];
  const add = (v: unknown) => {
    for (const x of Array.isArray(v) ? v : [v]) refs.push(x as Reference | undefined);
  };
  add(r.serviceProvider);
  add(r.performer);
  add(r.requester);
  add(r.recorder);
  add(r.asserter);
  for (const p of (Array.isArray(r.performer) ? r.performer : []) as { actor?: Reference; onBehalfOf?: Reference }[]) {
    add(p?.onBehalfOf);
    add(p?.actor);
  }
  return refs.map((x) => x?.reference).filter((x): x is string => typeof x === 'string' && x.startsWith('Organization/'));
}
