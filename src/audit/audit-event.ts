/**
 * Builds the AuditEvent for one interaction, following the IHE Basic Audit
 * Log Patterns (who, what, when, where from, action, outcome). Pure: the
 * caller supplies the clock, ids and request facts.
 * https://hl7.org/fhir/R4/auditevent.html · https://profiles.ihe.net/ITI/BALP/
 */
import type { AuditEvent, AuditEventAgent, AuditEventEntity } from '@medplum/fhirtypes';
import type { Insertable } from 'kysely';
import type { Actor } from '../auth/actor.ts';
import type { AuditEventTable } from '../store/database.ts';
import { cluesSystem } from '../mx/systems.ts';

/** What the trail keeps of the caller (never the token itself). */
export type AuditActor = Pick<Actor, 'subject' | 'role' | 'clues' | 'clientId' | 'name' | 'scope'>;

export interface AuditFacts {
  id: string;
  recorded: Date;
  /** restful-interaction code (read, create, search-type …) or `operation`. */
  interaction: string;
  /** For `operation`: its name (`$summary`), so the trail says what was looked at. */
  operation?: string;
  /** HTTP status of the answer. */
  status: number;
  actor?: AuditActor;
  clientIp: string;
  requestId: string;
  resourceType?: string;
  resourceId?: string;
  versionId?: string;
  /** The query string of a search/history/operation, as received. */
  query?: string;
  patients: readonly string[];
  /** For failures: the reason, as told to the client. */
  outcomeText?: string;
}

/** An audit_event row as appended (the chaining columns are set by audit_append()). */
export type AuditRow = Omit<Insertable<AuditEventTable>, 'seq' | 'lane' | 'lane_seq' | 'prev_hash' | 'hash'> & { recorded: Date; patients: string[] };

const actions: Record<string, AuditEvent['action']> = {
  create: 'C',
  read: 'R',
  vread: 'R',
  'history-instance': 'R',
  update: 'U',
  patch: 'U',
  delete: 'D',
};

export const subjectSystem = 'urn:ecu-fhir:token-subject';

/** 0 success, 4 minor failure (client error, refused access), 8 serious failure (server error). */
export function outcomeOf(status: number): AuditEvent['outcome'] {
  return status < 400 ? '0' : status < 500 ? '4' : '8';
}

function agents(facts: AuditFacts): AuditEventAgent[] {
  const actor = facts.actor;
  const user: AuditEventAgent = {
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP', display: 'information recipient' }] },
    who: actor ? { identifier: { system: subjectSystem, value: actor.subject }, ...(actor.name ? { display: actor.name } : {}) } : { display: 'anonymous' },
    requestor: true,
    network: { address: facts.clientIp, type: '2' },
    ...(actor?.role ? { role: [{ coding: [{ system: 'urn:ecu-fhir:role', code: actor.role }] }] } : {}),
    ...(actor?.scope ? { policy: [actor.scope] } : {}),
  };
  const out = [user];
  if (actor?.clues) {
    out.push({ type: { text: 'institución / institution' }, who: { identifier: { system: cluesSystem, value: actor.clues } }, requestor: false });
  }
  if (actor?.clientId) {
    out.push({
      type: { coding: [{ system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110150', display: 'Application' }] },
      who: { identifier: { value: actor.clientId } },
      requestor: false,
    });
  }
  return out;
}

function entities(facts: AuditFacts): AuditEventEntity[] {
  const out: AuditEventEntity[] = facts.patients.map((id) => ({
    what: { reference: `Patient/${id}` },
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '1', display: 'Person' },
    role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1', display: 'Patient' },
  }));
  if (facts.resourceType && facts.resourceId) {
    const version = facts.versionId ? `/_history/${facts.versionId}` : '';
    out.push({
      what: { reference: `${facts.resourceType}/${facts.resourceId}${version}` },
      type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2', display: 'System Object' },
      role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '4', display: 'Domain Resource' },
    });
  } else if (facts.query !== undefined || facts.resourceType) {
    out.push({
      type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2', display: 'System Object' },
      role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '24', display: 'Query' },
      // sev-1: a query entity has no name; the type searched goes in a detail.
      ...(facts.resourceType ? { detail: [{ type: 'resourceType', valueString: facts.resourceType }] } : {}),
      query: Buffer.from(facts.query ?? '', 'utf8').toString('base64'),
    });
  }
  return out;
}

export function buildAuditEvent(facts: AuditFacts): AuditEvent {
  const outcome = outcomeOf(facts.status);
  return {
    resourceType: 'AuditEvent',
    id: facts.id,
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'RESTful Operation' },
    subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: facts.interaction }, ...(facts.operation ? [{ system: 'urn:ecu-fhir:operation', code: facts.operation }] : [])],
    action: actions[facts.interaction] ?? 'E',
    recorded: facts.recorded.toISOString(),
    outcome,
    ...(outcome !== '0' ? { outcomeDesc: facts.outcomeText ?? `HTTP ${facts.status}` } : {}),
    agent: agents(facts),
    source: {
      observer: { display: 'ECU FHIR server' },
      type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4', display: 'Application Server' }],
      ...(facts.actor?.clues ? { site: facts.actor.clues } : {}),
    },
    entity: entities(facts),
    extension: [{ url: 'urn:ecu-fhir:request-id', valueString: facts.requestId }],
  };
}

/**
 * The table row for an event: its facts as compact JSON (what is hashed and
 * kept; about a quarter of the size of the rendered AuditEvent, which matters
 * when every read appends a row) plus the columns auditors search on.
 */
export function auditRow(raw: AuditFacts): AuditRow {
  // Nearly every request's facts are storable as they are: copying them all only for the rare refused text cost a read several µs.
  const facts = allStorable(raw) ? raw : storableFacts(raw);
  const actor = facts.actor && { subject: facts.actor.subject, role: facts.actor.role, clues: facts.actor.clues, clientId: facts.actor.clientId, name: facts.actor.name, scope: facts.actor.scope };
  return {
    id: facts.id,
    recorded: facts.recorded,
    action: actions[facts.interaction] ?? 'E',
    subtype: facts.interaction,
    outcome: outcomeOf(facts.status) ?? '0',
    agent: facts.actor?.subject ?? 'anonymous',
    agent_role: facts.actor?.role ?? null,
    clues: facts.actor?.clues ?? null,
    entity_type: facts.resourceType ?? null,
    entity_id: facts.resourceId ?? null,
    patients: [...facts.patients],
    facts: JSON.stringify({ ...facts, actor, recorded: facts.recorded.toISOString() }),
  };
}

/**
 * PostgreSQL text and jsonb hold neither NUL nor lone surrogates. A request
 * carrying them is refused at the edge (input-text.ts), but its refusal is
 * still audited with what it sent: such characters become U+FFFD here, so
 * the row can always be written (and no group of rows fails for one of them).
 */
function storable(value: string): string {
  return value.includes('\0') || !value.isWellFormed() ? value.toWellFormed().replaceAll('\0', '\uFFFD') : value;
}

function isStorable(value: string | undefined): boolean {
  return value === undefined || (!value.includes('\0') && value.isWellFormed());
}

/** The texts of the facts and of their actor that a request sets: one list for the check and for the copy. */
const factTexts = ['clientIp', 'requestId', 'resourceType', 'resourceId', 'versionId', 'query', 'outcomeText', 'operation'] as const;
const actorTexts = ['subject', 'clues', 'clientId', 'name', 'scope'] as const;

function allStorable(f: AuditFacts): boolean {
  const a = f.actor;
  return factTexts.every((k) => isStorable(f[k])) && (!a || actorTexts.every((k) => isStorable(a[k]))) && f.patients.every(isStorable);
}

function storableFacts(facts: AuditFacts): AuditFacts {
  const opt = (v: string | undefined) => (v === undefined ? undefined : storable(v));
  const actor = facts.actor && { ...facts.actor };
  if (actor) for (const k of actorTexts) (actor as Record<(typeof actorTexts)[number], string | undefined>)[k] = opt(facts.actor![k]);
  const copy: AuditFacts = { ...facts, actor, patients: facts.patients.map(storable) };
  for (const k of factTexts) (copy as Record<(typeof factTexts)[number], string | undefined>)[k] = opt(facts[k]);
  return copy;
}

/** The AuditEvent for a stored row's facts. */
export function eventFromFacts(json: string): AuditEvent {
  const stored = JSON.parse(json) as Omit<AuditFacts, 'recorded'> & { recorded: string };
  return buildAuditEvent({ ...stored, recorded: new Date(stored.recorded) });
}

/**
 * The AuditEvent as a patient reader may see it: only what concerns that
 * patient. Other patients' entities, the query string (which can name anyone:
 * ids, CURPs), the resource when the event also touched others, and failure
 * texts are left out; auditors read the full event.
 */
export function eventForPatient(json: string, patients: readonly string[], patient: string): AuditEvent {
  const stored = JSON.parse(json) as Omit<AuditFacts, 'recorded'> & { recorded: string };
  const onlyMine = patients.length === 1 && patients[0] === patient;
  return buildAuditEvent({
    ...stored,
    recorded: new Date(stored.recorded),
    patients: [patient],
    query: undefined,
    outcomeText: undefined,
    resourceType: onlyMine && stored.resourceId ? stored.resourceType : undefined,
    resourceId: onlyMine ? stored.resourceId : undefined,
    versionId: onlyMine ? stored.versionId : undefined,
  });
}
