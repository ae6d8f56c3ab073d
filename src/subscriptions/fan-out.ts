/**
 * Turning outbox rows into numbered events of the subscriptions they match.
 * One instance at a time fans out (a transaction-scoped advisory lock; the
 * others skip, they have delivery to do), so events are numbered in outbox
 * order; each subscription's counter is incremented in the same transaction
 * that deletes the outbox rows, so numbers are gap-free and every event is
 * fanned out exactly once, on any number of instances.
 */
import type { Resource } from '@medplum/fhirtypes';
import { sql } from 'kysely';
import { actorFromClaims } from '../auth/actor.ts';
import { canSee } from '../auth/guard.ts';
import type { FhirContext } from '../fhir/types.ts';
import { findResources, parseContent } from '../referral/referral-store.ts';
import { readVersion, type Db } from '../store/resource-store.ts';
import type { OwnerClaims } from './registry.ts';
import { planSubscription, type SubscriptionPlan } from './subscription-rules.ts';
import { passesFilters, type ChangeEvent, type EventFacts } from './topics.ts';
import type { EndpointPolicy } from './endpoint.ts';

const fanOutLock = 18_180_001;

interface OutboxRow {
  id: string;
  resource_type: string;
  resource_id: string;
  version_id: number;
  facts: EventFacts;
  patients: string[];
  created: Date;
}

interface ActiveSubscription {
  id: string;
  owner: OwnerClaims;
  firstOutboxId: number;
  plan: SubscriptionPlan;
}

async function activeSubscriptions(tx: Db, policy: EndpointPolicy): Promise<ActiveSubscription[]> {
  const { rows } = await sql<{ subscription_id: string; owner: OwnerClaims; first_outbox_id: string; content: string | null }>`
    SELECT s.subscription_id, s.owner, s.first_outbox_id, r.content FROM subscription_state s
    JOIN resource r ON r.resource_type = 'Subscription' AND r.id = s.subscription_id AND NOT r.deleted
    WHERE s.active`.execute(tx);
  return rows.flatMap((r) => {
    try {
      const resource = parseContent<Resource & { resourceType: 'Subscription' }>(r.content);
      return resource ? [{ id: r.subscription_id, owner: r.owner, firstOutboxId: Number(r.first_outbox_id), plan: planSubscription(resource, policy) }] : [];
    } catch {
      // A subscription the current policy refuses (e.g. its endpoint left the allow-list) receives nothing.
      return [];
    }
  });
}

/** Whether the owner's token, as it was at creation, could read the resource. */
export function ownerMaySee(owner: OwnerClaims, resource: Resource | undefined, patients: readonly string[]): boolean {
  if (owner === null) return true; // written with security off (benchmarks only)
  if (!resource) return false;
  return canSee(actorFromClaims(owner), resource, patients);
}

async function matches(tx: Db, ctx: FhirContext, s: ActiveSubscription, event: ChangeEvent, id: string): Promise<boolean> {
  const { plan } = s;
  if (plan.topic) {
    const types = plan.topic.resourceTypes;
    if (!types.includes('*') && !types.includes(event.resourceType)) return false;
    if (!plan.topic.triggers(event) || !passesFilters(plan.filters, event)) return false;
  } else if (plan.criteria) {
    if (plan.criteria.resourceType !== event.resourceType || event.facts.interaction === 'delete') return false;
    // R4 criteria are a search: run it, restricted to the changed resource, with the same compiler and indexes as GET.
    const found = await findResources(tx, ctx, event.resourceType, { ...plan.criteria.query, _id: id });
    if (found.length === 0) return false;
  } else {
    return false;
  }
  return ownerMaySee(s.owner, event.resource, event.patients);
}

/** Fans out up to `limit` outbox rows; returns how many were processed (0 when another instance holds the lock). */
export async function fanOut(db: Db, ctx: FhirContext, policy: EndpointPolicy, limit = 200): Promise<number> {
  return db.transaction().execute(async (tx) => {
    const { rows: locked } = await sql<{ ok: boolean }>`SELECT pg_try_advisory_xact_lock(${fanOutLock}) AS ok`.execute(tx);
    if (!locked[0]?.ok) return 0;
    const { rows } = await sql<OutboxRow>`SELECT * FROM subscription_outbox ORDER BY id LIMIT ${limit} FOR UPDATE SKIP LOCKED`.execute(tx);
    if (rows.length === 0) return 0;
    const subs = await activeSubscriptions(tx, policy);
    const txCtx = { ...ctx, db: tx };
    for (const row of rows) {
      const candidates = subs.filter((s) => Number(row.id) > s.firstOutboxId && (s.plan.criteria?.resourceType === row.resource_type || s.plan.topic?.resourceTypes.some((t) => t === '*' || t === row.resource_type)));
      if (candidates.length === 0) continue;
      const version = row.facts.interaction === 'delete' ? undefined : await readVersion(tx, row.resource_type, row.resource_id, row.version_id);
      const event: ChangeEvent = { resourceType: row.resource_type, facts: row.facts, resource: parseContent(version?.content), patients: row.patients };
      for (const s of candidates) {
        if (!(await matches(tx, txCtx, s, event, row.resource_id))) continue;
        const topic = s.plan.topic?.url ?? `criteria:${s.plan.criteria?.resourceType ?? ''}`;
        await sql`
          WITH n AS (UPDATE subscription_state SET events_since_start = events_since_start + 1 WHERE subscription_id = ${s.id} RETURNING events_since_start)
          INSERT INTO subscription_event (subscription_id, event_number, resource_type, resource_id, version_id, topic, created)
          SELECT ${s.id}, events_since_start, ${row.resource_type}, ${row.resource_id}, ${row.version_id}, ${topic}, ${row.created} FROM n`.execute(tx);
      }
    }
    await sql`DELETE FROM subscription_outbox WHERE id = ANY(${rows.map((r) => r.id)}::bigint[])`.execute(tx);
    return rows.length;
  });
}
