/**
 * Turning outbox rows into numbered events of the subscriptions they match.
 * One instance at a time fans out (a transaction-scoped advisory lock; the
 * others skip, they have delivery to do), so events are numbered in outbox
 * order; each subscription's counter is incremented in the same transaction
 * that deletes the outbox rows, so numbers are gap-free and every event is
 * fanned out exactly once, on any number of instances.
 *
 * The cost per write must stay small with many subscriptions active, so the
 * work is per batch of outbox rows, not per (row, subscription): plans are
 * compiled once per Subscription version and cached; the batch's versions
 * are read in one query; an R4 criteria search runs once per distinct
 * criteria for all the batch's candidate ids; every event of the batch goes
 * in with one statement.
 */
import type { Resource } from '@medplum/fhirtypes';
import { sql } from 'kysely';
import { actorFromClaims, type Actor } from '../auth/actor.ts';
import { canSee } from '../auth/guard.ts';
import { parseRequest } from '../fhir/search.ts';
import type { FhirContext } from '../fhir/types.ts';
import { parseContent } from '../referral/referral-store.ts';
import { runPage } from '../search/run-search.ts';
import type { Filter, SearchRequest } from '../search/search-request.ts';
import { mayMatch, requiredCodes } from './criteria-prefilter.ts';
import type { Db } from '../store/resource-store.ts';
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
  /** The owner's access as it was at creation; null: written with security off (benchmarks only). */
  actor: Actor | null;
  firstOutboxId: number;
  plan: SubscriptionPlan;
  compiled: Compiled;
  /** The criteria's search, as a key shared by subscriptions asking the same thing. */
  criteriaKey?: string;
  topicUrl: string;
}

interface Compiled {
  plan: SubscriptionPlan;
  /** The owner's access as it was at creation (the owner never changes); null: security off (benchmarks only). */
  actor: Actor | null;
  topicUrl: string;
  criteriaKey?: string;
  /** R4 criteria: the parsed search, and the codes a matching version must contain (criteria-prefilter.ts). */
  search?: SearchRequest;
  required: string[][];
}

/** Compiled plans by policy, then `id/version`: a Subscription version never changes, so neither does its plan. */
const planCache = new WeakMap<EndpointPolicy, Map<string, Compiled | null>>();

function compile(plan: SubscriptionPlan, owner: OwnerClaims): Compiled {
  const actor = owner === null ? null : actorFromClaims(owner);
  const topicUrl = plan.topic?.url ?? `criteria:${plan.criteria?.resourceType ?? ''}`;
  if (!plan.criteria) return { plan, actor, topicUrl, required: [] };
  const search = parseRequest(plan.criteria.resourceType, plan.criteria.query, 'handling=strict');
  const criteriaKey = `${plan.criteria.resourceType}?${new URLSearchParams(Object.entries(plan.criteria.query).sort()).toString()}`;
  return { plan, actor, topicUrl, criteriaKey, search, required: requiredCodes(search) };
}

async function activeSubscriptions(tx: Db, policy: EndpointPolicy): Promise<ActiveSubscription[]> {
  // Only ids and versions per batch: content and owner are read (and compiled) once per Subscription version.
  const { rows } = await sql<{ subscription_id: string; first_outbox_id: string; version_id: number }>`
    SELECT s.subscription_id, s.first_outbox_id, r.version_id FROM subscription_state s
    CROSS JOIN LATERAL (SELECT version_id FROM resource WHERE resource_type = 'Subscription' AND id = s.subscription_id AND NOT deleted) r
    WHERE s.active`.execute(tx);
  let cache = planCache.get(policy);
  if (!cache) planCache.set(policy, (cache = new Map()));
  const key = (r: { subscription_id: string; version_id: number }) => `${r.subscription_id}/${r.version_id}`;
  const missing = rows.filter((r) => !cache.has(key(r)));
  if (missing.length) {
    const { rows: contents } = await sql<{ id: string; version_id: number; content: string | null; owner: OwnerClaims }>`
      SELECT r.id, r.version_id, r.content, s.owner FROM resource r JOIN subscription_state s ON s.subscription_id = r.id
      WHERE r.resource_type = 'Subscription' AND r.id = ANY(${missing.map((r) => r.subscription_id)}::text[])`.execute(tx);
    for (const c of contents) {
      let plan: Compiled | null = null;
      try {
        const resource = parseContent<Resource & { resourceType: 'Subscription' }>(c.content);
        plan = resource ? compile(planSubscription(resource, policy), c.owner) : null;
      } catch {
        // A subscription the current policy refuses (e.g. its endpoint left the allow-list) receives nothing.
      }
      cache.set(`${c.id}/${c.version_id}`, plan);
    }
  }
  return rows.flatMap((r) => {
    const compiled = cache.get(key(r));
    if (!compiled) return [];
    return [{ id: r.subscription_id, actor: compiled.actor, firstOutboxId: Number(r.first_outbox_id), plan: compiled.plan, compiled, criteriaKey: compiled.criteriaKey, topicUrl: compiled.topicUrl }];
  });
}

/** Whether the owner's token, as it was at creation, could read the resource. */
function ownerMaySee(actor: Actor | null, resource: Resource | undefined, patients: readonly string[]): boolean {
  if (actor === null) return true;
  if (!resource) return false;
  return canSee(actor, resource, patients);
}

function isCandidate(s: ActiveSubscription, row: OutboxRow): boolean {
  if (Number(row.id) <= s.firstOutboxId) return false;
  if (s.plan.criteria) return s.plan.criteria.resourceType === row.resource_type && row.facts.interaction !== 'delete';
  return s.plan.topic?.resourceTypes.some((t) => t === '*' || t === row.resource_type) ?? false;
}

/**
 * The written versions' content, in one query. LATERAL: one probe of the
 * version's key per row, whatever the statistics say about the history table
 * (which grows faster than ANALYZE runs; a hash join over all of it would
 * cost each batch a scan of the whole history).
 */
async function versionsOf(tx: Db, rows: readonly OutboxRow[]): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  if (rows.length === 0) return out;
  const { rows: found } = await sql<{ resource_type: string; id: string; version_id: number; content: string | null }>`
    SELECT u.t AS resource_type, u.i AS id, u.v AS version_id, h.content
    FROM unnest(${rows.map((r) => r.resource_type)}::text[], ${rows.map((r) => r.resource_id)}::text[], ${rows.map((r) => r.version_id)}::int[]) AS u(t, i, v)
    CROSS JOIN LATERAL (SELECT content FROM resource_history WHERE resource_type = u.t AND id = u.i AND version_id = u.v) h`.execute(tx);
  for (const f of found) out.set(`${f.resource_type}/${f.id}/${f.version_id}`, f.content); // versionKey
  return out;
}

/**
 * R4 criteria are a search: run each distinct one once, restricted to the
 * batch's candidate ids that may match (criteria-prefilter.ts), with the same
 * compiler and indexes as GET.
 */
async function criteriaMatches(tx: Db, ctx: FhirContext, subs: readonly ActiveSubscription[], candidates: Map<string, OutboxRow[]>, contents: Map<string, string | null>): Promise<Map<string, Set<string>>> {
  // Subscriptions asking the same search share it, over the union of their candidates (they started at different rows).
  const groups = new Map<string, { compiled: Compiled; ids: Set<string> }>();
  for (const s of subs) {
    if (!s.criteriaKey || !s.compiled.search) continue;
    let group = groups.get(s.criteriaKey);
    if (!group) groups.set(s.criteriaKey, (group = { compiled: s.compiled, ids: new Set() }));
    for (const r of candidates.get(s.id) ?? []) if (mayMatch(s.compiled.required, contents.get(versionKey(r)))) group.ids.add(r.resource_id);
  }
  const out = new Map<string, Set<string>>();
  for (const [key, { compiled, ids: idSet }] of groups) {
    const found = new Set<string>();
    out.set(key, found);
    const ids = [...idSet];
    const search = compiled.search!;
    // The search compiler's page size is capped; chunks keep every id in reach.
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const idFilter: Filter = { kind: 'id', name: '_id', ids: chunk, not: false };
      const page = await runPage(tx, { ...search, filters: [...search.filters, idFilter], count: chunk.length }, { baseUrl: ctx.baseUrl, now: ctx.now() });
      for (const r of page.rows) found.add(r.id);
    }
  }
  return out;
}

const versionKey = (r: OutboxRow) => `${r.resource_type}/${r.resource_id}/${r.version_id}`;

/** Fans out up to `limit` outbox rows; returns how many were processed (0 when another instance holds the lock). */
export async function fanOut(db: Db, ctx: FhirContext, policy: EndpointPolicy, limit = 200): Promise<number> {
  // Every poll of every instance asks: an empty outbox costs one round trip, not a transaction's four.
  const { rows: any } = await sql<{ any: boolean }>`SELECT EXISTS (SELECT 1 FROM subscription_outbox) AS any`.execute(db);
  if (!any[0]?.any) return 0;
  return db.transaction().execute(async (tx) => {
    // The lock and the rows in one round trip: none when another instance holds the lock. No row locks: the
    // advisory lock already makes this the only fan-out, and locking each row would write every row once more.
    const { rows } = await sql<OutboxRow>`
      SELECT * FROM subscription_outbox WHERE pg_try_advisory_xact_lock(${fanOutLock}) ORDER BY id LIMIT ${limit}`.execute(tx);
    if (rows.length === 0) return 0;
    const subs = await activeSubscriptions(tx, policy);
    const candidates = new Map<string, OutboxRow[]>();
    const needed: OutboxRow[] = [];
    for (const row of rows) {
      let any = false;
      for (const s of subs) {
        if (!isCandidate(s, row)) continue;
        any = true;
        const list = candidates.get(s.id);
        if (list) list.push(row);
        else candidates.set(s.id, [row]);
      }
      if (any && row.facts.interaction !== 'delete') needed.push(row);
    }
    if (candidates.size > 0) {
      const contents = await versionsOf(tx, needed);
      const searched = await criteriaMatches(tx, { ...ctx, db: tx }, subs, candidates, contents);
      // Events in outbox order, each subscription's in the order its numbers are given.
      const events: { s: string; rt: string; ri: string; v: number; topic: string; created: Date }[] = [];
      for (const row of rows) {
        let event: ChangeEvent | undefined;
        for (const s of subs) {
          if (!isCandidate(s, row)) continue;
          event ??= { resourceType: row.resource_type, facts: row.facts, resource: parseContent(contents.get(versionKey(row))), patients: row.patients };
          if (!matches(s, event, row.resource_id, searched)) continue;
          events.push({ s: s.id, rt: row.resource_type, ri: row.resource_id, v: row.version_id, topic: s.topicUrl, created: row.created });
        }
      }
      if (events.length) await insertEvents(tx, events);
    }
    await sql`DELETE FROM subscription_outbox WHERE id = ANY(${rows.map((r) => r.id)}::bigint[])`.execute(tx);
    return rows.length;
  });
}

function matches(s: ActiveSubscription, event: ChangeEvent, id: string, searched: Map<string, Set<string>>): boolean {
  const { plan } = s;
  if (plan.topic) {
    if (!plan.topic.triggers(event) || !passesFilters(plan.filters, event)) return false;
  } else if (!s.criteriaKey || !searched.get(s.criteriaKey)?.has(id)) {
    return false;
  }
  return ownerMaySee(s.actor, event.resource, event.patients);
}

/**
 * Every event of the batch in one statement: each subscription's counter goes
 * up by its number of events, and they are numbered from its old value on, in
 * batch order — gap-free, under the fan-out lock and the counter rows' locks.
 */
async function insertEvents(tx: Db, events: { s: string; rt: string; ri: string; v: number; topic: string; created: Date }[]): Promise<void> {
  await sql`
    WITH m AS (
      SELECT * FROM unnest(${events.map((e) => e.s)}::text[], ${events.map((e) => e.rt)}::text[], ${events.map((e) => e.ri)}::text[], ${events.map((e) => e.v)}::int[],
        ${events.map((e) => e.topic)}::text[], ${events.map((e) => e.created)}::timestamptz[]) WITH ORDINALITY AS m(s, rt, ri, v, topic, created, n)),
    c AS (SELECT s, count(*) AS k FROM m GROUP BY s),
    u AS (UPDATE subscription_state st SET events_since_start = st.events_since_start + c.k FROM c WHERE st.subscription_id = c.s
      RETURNING st.subscription_id, st.events_since_start - c.k AS base)
    INSERT INTO subscription_event (subscription_id, event_number, resource_type, resource_id, version_id, topic, created)
    SELECT m.s, u.base + row_number() OVER (PARTITION BY m.s ORDER BY m.n), m.rt, m.ri, m.v, m.topic, m.created
    FROM m JOIN u ON u.subscription_id = m.s`.execute(tx);
}
