/**
 * The notification Bundle (Backport IG: a `history` Bundle whose first entry
 * is the SubscriptionStatus Parameters) and the signature receivers verify.
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, Parameters, ParametersParameter, Resource } from '@medplum/fhirtypes';

export type PayloadContent = 'empty' | 'id-only' | 'full-resource';
export type NotificationType = 'handshake' | 'heartbeat' | 'event-notification' | 'query-event' | 'query-status';

export const statusProfile = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4';
export const payloadContentUrl = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content';
export const topicCanonicalUrl = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-topic-canonical';
export const filterCriteriaUrl = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria';
/** Header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`; the timestamp lets receivers refuse replays. */
export const signatureHeader = 'x-ecu-signature';

export interface NotifiedEvent {
  eventNumber: number;
  timestamp: string;
  resourceType: string;
  id: string;
  interaction: 'create' | 'update' | 'delete';
  /** The version's content, for full-resource payloads. */
  resource?: Resource;
}

export interface StatusInput {
  subscriptionUrl: string;
  topic?: string;
  status: string;
  type: NotificationType;
  eventsSinceSubscriptionStart: number;
  events: readonly NotifiedEvent[];
  error?: string;
}

export function subscriptionStatus(s: StatusInput, content: PayloadContent): Parameters {
  const parameter: ParametersParameter[] = [
    { name: 'subscription', valueReference: { reference: s.subscriptionUrl } },
    ...(s.topic ? [{ name: 'topic', valueCanonical: s.topic }] : []),
    { name: 'status', valueCode: s.status },
    { name: 'type', valueCode: s.type },
    { name: 'events-since-subscription-start', valueString: String(s.eventsSinceSubscriptionStart) },
    ...s.events.map((e) => ({
      name: 'notification-event',
      part: [
        { name: 'event-number', valueString: String(e.eventNumber) },
        { name: 'timestamp', valueInstant: e.timestamp },
        ...(content === 'empty' ? [] : [{ name: 'focus', valueReference: { reference: `${e.resourceType}/${e.id}` } }]),
      ],
    })),
    ...(s.error ? [{ name: 'error', valueCodeableConcept: { text: s.error } }] : []),
  ];
  return { resourceType: 'Parameters', meta: { profile: [statusProfile] }, parameter };
}

const methods = { create: 'POST', update: 'PUT', delete: 'DELETE' } as const;

export function notificationBundle(s: StatusInput, content: PayloadContent, baseUrl: string, now: Date): Bundle {
  const entries: BundleEntry[] = [{ fullUrl: `urn:uuid:${randomUUID()}`, resource: subscriptionStatus(s, content) }];
  if (content !== 'empty') {
    for (const e of s.events) {
      const entry: BundleEntry = {
        fullUrl: `${baseUrl}/${e.resourceType}/${e.id}`,
        request: { method: methods[e.interaction], url: e.interaction === 'create' ? e.resourceType : `${e.resourceType}/${e.id}` },
      };
      if (content === 'full-resource' && e.resource) entry.resource = e.resource;
      entries.push(entry);
    }
  }
  return { resourceType: 'Bundle', id: randomUUID(), type: 'history', timestamp: now.toISOString(), entry: entries };
}

export function sign(secret: string, body: string, unixSeconds: number): string {
  return `t=${unixSeconds},v1=${createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex')}`;
}
