/**
 * What a Subscription resource asks for, read once (pure): an R4 criteria
 * search URL or a Backport topic with its filters, the payload content, the
 * channel headers. Refusals are 422s naming the element.
 */
import type { Extension, Subscription } from '@medplum/fhirtypes';
import { unprocessable } from '../fhir/errors.ts';
import { endpointProblem, type EndpointPolicy } from './endpoint.ts';
import { filterCriteriaUrl, payloadContentUrl, type PayloadContent } from './notification.ts';
import { parseFilters, topicByUrl, topics, unknownFilters, type Topic } from './topics.ts';

/** The receiver's HMAC key: an extension of channel, kept by the server and removed from the stored resource so no read reveals it. */
export const secretExtensionUrl = 'https://ecu-fhir.org/fhir/StructureDefinition/subscription-signing-secret';
/** Seconds without any notification after which a `heartbeat` is sent (Backport IG; on Subscription.channel). */
export const heartbeatPeriodUrl = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-heartbeat-period';

export interface SubscriptionPlan {
  topic?: Topic;
  filters: Map<string, string[]>;
  /** R4 criteria-based: the search's resource type and parameters. */
  criteria?: { resourceType: string; query: Record<string, string> };
  content: PayloadContent;
  headers: Record<string, string>;
  endpoint: string;
  /** backport-heartbeat-period, when set. */
  heartbeatSeconds?: number;
}

const bad = (es: string, en: string, path: string) => unprocessable({ es, en }, path, 'invalid');

export function planSubscription(s: Subscription, policy: EndpointPolicy): SubscriptionPlan {
  if (s.channel?.type !== 'rest-hook') {
    throw unprocessable({ es: 'Solo se admite el canal rest-hook', en: 'Only the rest-hook channel is supported' }, 'Subscription.channel.type', 'not-supported');
  }
  const problem = endpointProblem(s.channel.endpoint, policy);
  if (problem) throw unprocessable(problem, 'Subscription.channel.endpoint', 'invalid');
  const headers: Record<string, string> = {};
  for (const [i, h] of (s.channel.header ?? []).entries()) {
    const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):\s*(.*)$/.exec(h);
    if (!m || /[\r\n]/.test(h)) throw bad('Cada channel.header es "Nombre: valor"', 'Each channel.header is "Name: value"', `Subscription.channel.header[${i}]`);
    headers[m[1]!.toLowerCase()] = m[2]!;
  }
  const payloadExt = (s.channel as { _payload?: { extension?: Extension[] } })._payload?.extension?.find((e) => e.url === payloadContentUrl)?.valueCode;
  if (payloadExt !== undefined && !['empty', 'id-only', 'full-resource'].includes(payloadExt)) {
    throw bad('backport-payload-content es empty, id-only o full-resource', 'backport-payload-content is empty, id-only or full-resource', 'Subscription.channel.payload');
  }
  if (s.channel.payload !== undefined && s.channel.payload !== 'application/fhir+json' && s.channel.payload !== 'application/json') {
    throw unprocessable({ es: 'channel.payload debe ser application/fhir+json', en: 'channel.payload must be application/fhir+json' }, 'Subscription.channel.payload', 'not-supported');
  }
  const content = (payloadExt as PayloadContent | undefined) ?? (s.channel.payload ? 'full-resource' : 'empty');
  const heartbeat = s.channel.extension?.find((e) => e.url === heartbeatPeriodUrl);
  const heartbeatSeconds = heartbeat?.valueUnsignedInt;
  if (heartbeat && (heartbeatSeconds === undefined || !Number.isInteger(heartbeatSeconds) || heartbeatSeconds < 1)) {
    throw bad('backport-heartbeat-period es un valueUnsignedInt de al menos 1 (segundos)', 'backport-heartbeat-period is a valueUnsignedInt of at least 1 (seconds)', 'Subscription.channel.extension');
  }
  const common = { content, headers, endpoint: s.channel.endpoint!, ...(heartbeatSeconds !== undefined ? { heartbeatSeconds } : {}) };
  const criteria = s.criteria ?? '';
  const topic = topicByUrl(criteria);
  if (topic) {
    const raw = ((s as { _criteria?: { extension?: Extension[] } })._criteria?.extension ?? []).filter((e) => e.url === filterCriteriaUrl).map((e) => e.valueString ?? '');
    const filters = parseFilters(raw);
    const unknown = unknownFilters(topic, filters);
    if (unknown.length) throw bad(`Filtros no admitidos por el tema: ${unknown.join(', ')} (admite ${topic.filters.join(', ')})`, `Filters the topic does not define: ${unknown.join(', ')} (it has ${topic.filters.join(', ')})`, 'Subscription.criteria');
    return { topic, filters, ...common };
  }
  if (criteria.startsWith('http')) {
    throw unprocessable(
      { es: `Tema desconocido: ${criteria} (temas: ${topics.map((t) => t.url).join(', ')})`, en: `Unknown topic: ${criteria} (topics: ${topics.map((t) => t.url).join(', ')})` },
      'Subscription.criteria',
      'not-supported',
    );
  }
  const m = /^([A-Z][A-Za-z]+)(?:\?(.*))?$/.exec(criteria);
  if (!m) throw bad('criteria es una URL de búsqueda (Tipo?parámetros) o un tema canónico', 'criteria is a search URL (Type?parameters) or a topic canonical', 'Subscription.criteria');
  const query: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(m[2] ?? '')) {
    if (k.startsWith('_') && k !== '_id' && k !== '_tag' && k !== '_profile' && k !== '_security') throw bad(`criteria no admite ${k}`, `criteria does not take ${k}`, 'Subscription.criteria');
    query[k] = query[k] === undefined ? v : `${query[k]},${v}`;
  }
  return { criteria: { resourceType: m[1]!, query }, filters: new Map(), ...common };
}

/** The types a subscription's owner must be allowed to search. */
export function typesOf(plan: SubscriptionPlan): string[] {
  if (plan.criteria) return [plan.criteria.resourceType];
  return (plan.topic?.resourceTypes ?? []).filter((t) => t !== '*');
}
