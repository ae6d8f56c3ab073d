/**
 * `$status` and `$events` (Subscriptions Backport IG): what a subscription's
 * owner sees of its state, every delivery attempt, and a replay of its events
 * for a receiver that missed some. Only the owner (the token subject that
 * created it) or an administrator may ask.
 */
import type { Bundle, OperationDefinition, ParametersParameter, Resource, Subscription } from '@medplum/fhirtypes';
import { sql } from 'kysely';
import { forbidden } from '../auth/guard.ts';
import { badRequest, notFound } from '../fhir/errors.ts';
import type { FhirContext, FhirRequest, FhirResult } from '../fhir/types.ts';
import { parseContent } from '../referral/referral-store.ts';
import { readCurrent, readVersion } from '../store/resource-store.ts';
import type { OwnerClaims } from './registry.ts';
import { notificationBundle, subscriptionStatus, type NotifiedEvent, type PayloadContent } from './notification.ts';
import { planSubscription } from './subscription-rules.ts';

interface StateRow {
  owner: OwnerClaims;
  active: boolean;
  events_since_start: string;
  error: string | null;
  failures: number;
  next_attempt: Date;
}

async function ownSubscription(req: FhirRequest, ctx: FhirContext): Promise<{ s: Subscription; state: StateRow }> {
  const id = req.id ?? '';
  const current = await readCurrent(ctx.db, 'Subscription', id);
  const s = parseContent<Subscription>(current?.deleted ? null : current?.content);
  const { rows } = await sql<StateRow>`SELECT owner, active, events_since_start, error, failures, next_attempt FROM subscription_state WHERE subscription_id = ${id}`.execute(ctx.db);
  const state = rows[0];
  if (!s || !state) throw notFound({ es: `No existe Subscription/${id}`, en: `Subscription/${id} does not exist` });
  if (ctx.actor && ctx.actor.role !== 'admin' && state.owner !== null && state.owner.sub !== ctx.actor.subject) {
    throw forbidden({ es: 'Solo quien creó la suscripción consulta su estado y sus eventos', en: 'Only whoever created the subscription may see its status and events' });
  }
  return { s, state };
}

export async function statusOperation(req: FhirRequest, ctx: FhirContext): Promise<FhirResult> {
  const { s, state } = await ownSubscription(req, ctx);
  const { rows: attempts } = await sql<{ event_number: string; attempted: Date; outcome: string; http_status: number | null; detail: string | null; kind: string }>`
    SELECT event_number, attempted, outcome, http_status, detail, kind FROM subscription_attempt WHERE subscription_id = ${s.id} ORDER BY id DESC LIMIT 100`.execute(ctx.db);
  const status = subscriptionStatus(
    { subscriptionUrl: `${ctx.baseUrl}/Subscription/${s.id ?? ''}`, topic: s.criteria?.startsWith('http') ? s.criteria : undefined, status: s.status, type: 'query-status', eventsSinceSubscriptionStart: Number(state.events_since_start), events: [], error: state.error ?? undefined },
    'id-only',
  );
  // Not part of the Backport profile: every delivery attempt, newest first (the issue asks for them here).
  const extra: ParametersParameter[] = attempts.map((a) => ({
    name: 'delivery-attempt',
    part: [
      // handshake, heartbeat or event-notification; only the last carries an event.
      { name: 'type', valueCode: a.kind },
      ...(a.kind === 'event-notification' ? [{ name: 'event-number', valueString: a.event_number }] : []),
      { name: 'timestamp', valueInstant: a.attempted.toISOString() },
      { name: 'outcome', valueCode: a.outcome },
      ...(a.http_status !== null ? [{ name: 'http-status', valueInteger: a.http_status }] : []),
      ...(a.detail ? [{ name: 'detail', valueString: a.detail }] : []),
    ],
  }));
  if (state.active && state.failures > 0) extra.push({ name: 'next-attempt', valueInstant: state.next_attempt.toISOString() });
  status.parameter = [...(status.parameter ?? []), ...extra];
  const bundle: Bundle = { resourceType: 'Bundle', type: 'searchset', total: 1, entry: [{ fullUrl: `${ctx.baseUrl}/Subscription/${s.id ?? ''}/$status`, resource: status, search: { mode: 'match' } }] };
  return { status: 200, body: bundle };
}

function number(raw: unknown, name: string): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw !== 'string' || !/^\d{1,15}$/.test(raw)) throw badRequest({ es: `${name} debe ser un entero no negativo`, en: `${name} must be a non-negative integer` }, name);
  return Number(raw);
}

export async function eventsOperation(req: FhirRequest, ctx: FhirContext): Promise<FhirResult> {
  const { s, state } = await ownSubscription(req, ctx);
  const since = number(req.query.eventsSinceNumber, 'eventsSinceNumber') ?? 1;
  const until = number(req.query.eventsUntilNumber, 'eventsUntilNumber') ?? Number(state.events_since_start);
  const content = req.query.content;
  if (content !== undefined && content !== 'empty' && content !== 'id-only' && content !== 'full-resource') {
    throw badRequest({ es: 'content es empty, id-only o full-resource', en: 'content is empty, id-only or full-resource' }, 'content');
  }
  let plan: PayloadContent;
  try {
    plan = planSubscription(s, { allowed: [] }).content;
  } catch {
    plan = 'id-only';
  }
  const { rows } = await sql<{ event_number: string; resource_type: string; resource_id: string; version_id: number; created: Date }>`
    SELECT event_number, resource_type, resource_id, version_id, created FROM subscription_event
    WHERE subscription_id = ${s.id} AND event_number BETWEEN ${since} AND ${Math.min(until, since + 999)} ORDER BY event_number`.execute(ctx.db);
  const events: NotifiedEvent[] = [];
  for (const r of rows) {
    const v = await readVersion(ctx.db, r.resource_type, r.resource_id, r.version_id);
    events.push({ eventNumber: Number(r.event_number), timestamp: r.created.toISOString(), resourceType: r.resource_type, id: r.resource_id, interaction: v?.deleted ? 'delete' : r.version_id === 1 ? 'create' : 'update', resource: parseContent<Resource>(v?.content) });
  }
  const bundle = notificationBundle(
    { subscriptionUrl: `${ctx.baseUrl}/Subscription/${s.id ?? ''}`, topic: s.criteria?.startsWith('http') ? s.criteria : undefined, status: s.status, type: 'query-event', eventsSinceSubscriptionStart: Number(state.events_since_start), events },
    (content as PayloadContent | undefined) ?? plan,
    ctx.baseUrl,
    ctx.now(),
  );
  return { status: 200, body: bundle };
}

export const statusOperationDefinition: OperationDefinition = {
  resourceType: 'OperationDefinition',
  url: 'http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-status',
  name: 'SubscriptionStatus',
  status: 'active',
  kind: 'operation',
  code: 'status',
  resource: ['Subscription'],
  system: false,
  type: false,
  instance: true,
};

export const eventsOperationDefinition: OperationDefinition = {
  resourceType: 'OperationDefinition',
  url: 'http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-events',
  name: 'SubscriptionEvents',
  status: 'active',
  kind: 'operation',
  code: 'events',
  resource: ['Subscription'],
  system: false,
  type: false,
  instance: true,
};
