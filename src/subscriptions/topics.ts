/**
 * The subscription topics this server offers (Subscriptions R5 Backport IG
 * for R4: topics are canonical URLs listed in the CapabilityStatement) and
 * the pure rules deciding whether a written version is an event of a topic
 * and passes a subscription's filters.
 */
import type { Resource } from '@medplum/fhirtypes';
import { stampedClues } from '../summary/authoring-unit.ts';

export const topicBase = 'https://ecu-fhir.org/fhir/SubscriptionTopic/';

/** What the change was, derived from its version and the one before it (event-facts.ts). */
export interface EventFacts {
  interaction: 'create' | 'update' | 'delete';
  status?: string;
  previousStatus?: string;
}

export interface ChangeEvent {
  resourceType: string;
  facts: EventFacts;
  /** The version written (undefined for a delete). */
  resource: Resource | undefined;
  /** Patient ids whose compartment holds it. */
  patients: readonly string[];
}

export interface Topic {
  url: string;
  title: string;
  description: string;
  resourceTypes: readonly string[];
  /** Filter parameters a subscription may set (backport-filter-criteria). */
  filters: readonly string[];
  triggers(event: ChangeEvent): boolean;
}

type Filterable = Resource & { owner?: { reference?: string }; requester?: { reference?: string }; status?: string };

function statusBecame(event: ChangeEvent, to: string, from?: readonly (string | undefined)[]): boolean {
  const { status, previousStatus, interaction } = event.facts;
  if (interaction === 'delete' || status !== to || previousStatus === to) return false;
  return from === undefined || from.includes(previousStatus);
}

const isReferralTask = (e: ChangeEvent) =>
  e.resourceType === 'Task' && ((e.resource as { focus?: { reference?: string } } | undefined)?.focus?.reference ?? '').startsWith('ServiceRequest/');

const topic = (key: string, t: Omit<Topic, 'url'>): Topic => ({ url: `${topicBase}${key}`, ...t });

export const topics: readonly Topic[] = [
  topic('referral-created', {
    title: 'Referencia recibida / Referral created',
    description: 'A referral (ServiceRequest) was sent: its Task was created. Filters: owner (receiving unit), requester (referring unit).',
    resourceTypes: ['Task'],
    filters: ['owner', 'requester'],
    triggers: (e) => isReferralTask(e) && e.facts.interaction === 'create',
  }),
  topic('task-status-changed', {
    title: 'Cambio de estado de la referencia / Referral Task status changed',
    description: "A referral Task's status changed. Filters: owner, requester, status.",
    resourceTypes: ['Task'],
    filters: ['owner', 'requester', 'status'],
    triggers: (e) => isReferralTask(e) && e.facts.interaction === 'update' && e.facts.status !== e.facts.previousStatus,
  }),
  topic('contrarreferencia-available', {
    title: 'Contrarreferencia disponible / Counter-referral available',
    description: 'A referral Task was completed with its contrarreferencia (Task.output). Filters: owner, requester.',
    resourceTypes: ['Task'],
    filters: ['owner', 'requester'],
    triggers: (e) => isReferralTask(e) && statusBecame(e, 'completed'),
  }),
  topic('receta-signed', {
    title: 'Receta firmada / Prescription signed',
    description: 'A receta (MedicationRequest) was signed: draft to active. Filters: patient, unit (CLUES of the authoring unit).',
    resourceTypes: ['MedicationRequest'],
    filters: ['patient', 'unit'],
    triggers: (e) => e.resourceType === 'MedicationRequest' && statusBecame(e, 'active', ['draft']),
  }),
  topic('receta-dispensed', {
    title: 'Receta surtida / Prescription dispensed',
    description: 'A MedicationDispense was completed. Filters: patient, unit.',
    resourceTypes: ['MedicationDispense'],
    filters: ['patient', 'unit'],
    triggers: (e) => e.resourceType === 'MedicationDispense' && statusBecame(e, 'completed'),
  }),
  topic('receta-cancelled', {
    title: 'Receta cancelada / Prescription cancelled',
    description: 'A receta (MedicationRequest) was cancelled. Filters: patient, unit.',
    resourceTypes: ['MedicationRequest'],
    filters: ['patient', 'unit'],
    triggers: (e) => e.resourceType === 'MedicationRequest' && statusBecame(e, 'cancelled'),
  }),
  topic('patient-compartment', {
    title: 'Nuevo registro del paciente / New resource in a patient compartment',
    description: "A resource was created in a patient's compartment. Filters: patient, unit (CLUES of the authoring unit, i.e. the institution).",
    resourceTypes: ['*'],
    filters: ['patient', 'unit'],
    triggers: (e) => e.facts.interaction === 'create' && e.patients.length > 0,
  }),
];

export function topicByUrl(url: string | undefined): Topic | undefined {
  return topics.find((t) => t.url === url);
}

/** `Task?owner=Organization/1&status=a,b` or `owner=…`: each parameter's accepted values. */
export function parseFilters(criteria: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const c of criteria) {
    const query = c.includes('?') ? c.slice(c.indexOf('?') + 1) : c;
    for (const [name, value] of new URLSearchParams(query)) {
      out.set(name, [...(out.get(name) ?? []), ...value.split(',').map((v) => v.trim()).filter(Boolean)]);
    }
  }
  return out;
}

function valuesOf(name: string, event: ChangeEvent): string[] {
  const r = event.resource as Filterable | undefined;
  switch (name) {
    case 'owner':
      return r?.owner?.reference ? [r.owner.reference] : [];
    case 'requester':
      return r?.requester?.reference ? [r.requester.reference] : [];
    case 'status':
      return r?.status ? [r.status] : [];
    case 'patient':
      return event.patients.map((p) => `Patient/${p}`);
    case 'unit': {
      const clues = r ? stampedClues(r) : undefined;
      return clues ? [clues] : [];
    }
    default:
      return [];
  }
}

/** Every filter must hold (AND); a filter's comma-separated values are alternatives (OR). */
export function passesFilters(filters: Map<string, string[]>, event: ChangeEvent): boolean {
  for (const [name, accepted] of filters) {
    const values = valuesOf(name, event);
    const bare = (v: string) => v.replace(/^Patient\//, name === 'patient' ? '' : 'Patient/');
    if (!values.some((v) => accepted.includes(v) || accepted.map(bare).includes(bare(v)))) return false;
  }
  return true;
}

/** The filter names a topic does not know, for a 422 at creation. */
export function unknownFilters(t: Topic, filters: Map<string, string[]>): string[] {
  return [...filters.keys()].filter((f) => !t.filters.includes(f));
}
