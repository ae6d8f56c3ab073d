/**
 * Turning written versions into numbered events of the subscriptions they
 * match. The versions are read from `resource_history`, which every write
 * fills in its own statement (so a committed change always has its event and
 * a rolled-back one never does), behind a durable cursor
 * (history-cursor.ts). One instance at a time fans out (a
 * transaction-scoped advisory lock; the others skip, they have delivery to
 * do); the cursor, each subscription's counter and its events are written in
 * one transaction, so numbers are gap-free and every version is fanned out
 * exactly once, on any number of instances.
 *
 * The cost per write must stay small with many subscriptions active, so the
 * work is per batch of versions, not per (version, subscription): plans are
 * compiled once per Subscription version and cached; R4 criteria are
 * indexed by the codes they require (criteria-index.ts), so a version is
 * prefiltered against all of them with one scan of its content; a criteria
 * search runs once per distinct criteria for all the batch's candidate ids;
 * every event of the batch goes in with one statement.
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
import { CriteriaIndex } from './criteria-index.ts';
import { requiredCodes } from './criteria-prefilter.ts';
import { eventFacts, statusTypes } from './event-facts.ts';
import { advance, type CursorState } from './history-cursor.ts';
import { prepared } from '../store/prepared.ts';
import type { Db } from '../store/resource-store.ts';
import type { OwnerClaims } from './registry.ts';
import { planSubscription, type SubscriptionPlan } from './subscription-rules.ts';
import { passesFilters, type ChangeEvent } from './topics.ts';
import type { EndpointPolicy } from './endpoint.ts';

const fanOutLock = 18_180_001;

/** A history row as the fan-out reads it, with what it needs of the version before it. */
interface VersionRow {
  seq: string;
  resource_type: string;
  resource_id: string;
  version_id: number;
  last_updated: Date;
  deleted: boolean;
  /** Null for a deletion, and for a type no active subscription looks at (not read). */
  content: string | null;
  patients: string[];
  /** The version before it (null: none, or not read): deleted, its content (status types only), its patients. */
  p_deleted: boolean | null;
  p_content: string | null;
  p_patients: string[] | null;
  /** Whether the row was read inside a gap (else after the cursor's high). */
  in_gap: boolean;
}

interface ActiveSubscription {
  id: string;
  /** The owner's access as it was at creation; null: written with security off (benchmarks only). */
  actor: Actor | null;
  /** The last history row written before it: it receives the versions after. */
  firstSeq: number;
  plan: SubscriptionPlan;
  compiled: Compiled;
  topicUrl: string;
}

/** Subscriptions asking the same R4 search share it (they may have started at different rows). */
interface CriteriaGroup {
  compiled: Compiled;
  members: ActiveSubscription[];
}

/** The active subscriptions as the fan-out uses them, made once per listing. */
interface Listing {
  subs: ActiveSubscription[];
  /** The R4 criteria groups, by resource type and the codes their prefilter requires. */
  criteria: CriteriaIndex<CriteriaGroup>;
  /** Topic-based subscriptions: their triggers need each event's facts, so each is asked. */
  topics: ActiveSubscription[];
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

/** The active subscriptions by database, as listed at a `subscription_stamp` value (migration 20261201160000). */
const listCache = new WeakMap<Db, { stamp: string; policy: EndpointPolicy; listing: Listing }>();

/** The active subscriptions: listed again only when the stamp moved (a Subscription written, one put in error). */
async function activeSubscriptions(tx: Db, db: Db, policy: EndpointPolicy, stamp: string): Promise<Listing> {
  const cached = listCache.get(db);
  if (cached && cached.stamp === stamp && cached.policy === policy) return cached.listing;
  const listing = indexed(await listActive(tx, policy));
  // Listed in a snapshot at least as new as the stamp read: a change in between moves the stamp, so the next batch lists again.
  listCache.set(db, { stamp, policy, listing });
  return listing;
}

function indexed(subs: ActiveSubscription[]): Listing {
  const criteria = new CriteriaIndex<CriteriaGroup>();
  const groups = new Map<string, CriteriaGroup>();
  const topics: ActiveSubscription[] = [];
  for (const s of subs) {
    const { criteriaKey, search } = s.compiled;
    if (!s.plan.criteria) {
      topics.push(s);
      continue;
    }
    if (!criteriaKey || !search) continue;
    let group = groups.get(criteriaKey);
    if (!group) {
      groups.set(criteriaKey, (group = { compiled: s.compiled, members: [] }));
      criteria.add(s.plan.criteria.resourceType, group, s.compiled.required);
    }
    group.members.push(s);
  }
  return { subs, criteria, topics };
}

async function listActive(tx: Db, policy: EndpointPolicy): Promise<ActiveSubscription[]> {
  // Only ids and versions per listing: content and owner are read (and compiled) once per Subscription version.
  const { rows } = await sql<{ subscription_id: string; first_history_seq: string; version_id: number }>`
    SELECT s.subscription_id, s.first_history_seq, r.version_id FROM subscription_state s
    CROSS JOIN LATERAL (SELECT version_id FROM resource WHERE resource_type = 'Subscription' AND id = s.subscription_id AND NOT deleted) r
    WHERE s.active`.execute(tx);
  let cache = planCache.get(policy);
  if (!cache) planCache.set(policy, (cache = new Map()));
  const key = (r: { subscription_id: string; version_id: number }) => `${r.subscription_id}/${r.version_id}`;
  const missing = rows.filter((r) => !cache.has(key(r)));
  if (missing.length) {
    // The very versions listed: a newer one committed meanwhile (the worker's `active`) would leave the listed one
    // without a plan, and the subscription out of this batch, its events lost.
    const { rows: contents } = await sql<{ id: string; version_id: number; content: string | null; owner: OwnerClaims }>`
      SELECT h.id, h.version_id, h.content, s.owner
      FROM unnest(${missing.map((r) => r.subscription_id)}::text[], ${missing.map((r) => r.version_id)}::int[]) AS m(id, v)
      JOIN resource_history h ON h.resource_type = 'Subscription' AND h.id = m.id AND h.version_id = m.v
      JOIN subscription_state s ON s.subscription_id = m.id`.execute(tx);
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
    return [{ id: r.subscription_id, actor: compiled.actor, firstSeq: Number(r.first_history_seq), plan: compiled.plan, compiled, topicUrl: compiled.topicUrl }];
  });
}

/** Whether the owner's token, as it was at creation, could read the resource. */
function ownerMaySee(actor: Actor | null, resource: Resource | undefined, patients: readonly string[]): boolean {
  if (actor === null) return true;
  if (!resource) return false;
  return canSee(actor, resource, patients);
}

function isTopicCandidate(s: ActiveSubscription, row: VersionRow, seq: number): boolean {
  return seq > s.firstSeq && (s.plan.topic?.resourceTypes.some((t) => t === '*' || t === row.resource_type) ?? false);
}

/**
 * R4 criteria are a search: run each distinct one once, restricted to the
 * batch's candidate ids that may match (criteria-index.ts), with the same
 * compiler and indexes as GET. Returns the ids found, by group.
 */
async function criteriaMatches(tx: Db, ctx: FhirContext, candidates: Map<CriteriaGroup, Set<string>>): Promise<Map<CriteriaGroup, Set<string>>> {
  const out = new Map<CriteriaGroup, Set<string>>();
  for (const [group, idSet] of candidates) {
    const found = new Set<string>();
    out.set(group, found);
    const ids = [...idSet];
    const search = group.compiled.search!;
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

function changeEvent(row: VersionRow): ChangeEvent {
  const previous = row.p_deleted === null ? undefined : { resourceType: row.resource_type, deleted: row.p_deleted, content: row.p_content };
  const facts = eventFacts({ resourceType: row.resource_type, deleted: row.deleted, content: row.content }, previous);
  const patients = row.p_patients?.length ? [...new Set([...row.patients, ...row.p_patients])] : row.patients;
  return { resourceType: row.resource_type, facts, resource: parseContent(row.content), patients };
}

/**
 * The rows after the cursor (at most `limit`) and those that committed
 * inside its gaps since, in seq order, with what the active subscriptions
 * need of them: the content only of the types they look at, the previous
 * version only for those (one key probe each, for updates).
 */
async function readVersions(tx: Db, state: CursorState, subs: readonly ActiveSubscription[], limit: number): Promise<VersionRow[]> {
  const all = subs.some((s) => !s.plan.criteria && (s.plan.topic?.resourceTypes.includes('*') ?? false));
  const types = [...new Set(subs.flatMap((s) => (s.plan.criteria ? [s.plan.criteria.resourceType] : [...(s.plan.topic?.resourceTypes ?? [])])))];
  const { rows } = await sql<VersionRow>`${prepared}
    WITH h AS (
      SELECT h.seq, h.resource_type, h.id, h.version_id, h.last_updated, h.deleted, h.content, h.patients, true AS in_gap
      FROM unnest(${state.gaps.map((g) => g.lo)}::bigint[], ${state.gaps.map((g) => g.hi)}::bigint[]) AS g(lo, hi)
      CROSS JOIN LATERAL (SELECT * FROM resource_history WHERE seq BETWEEN g.lo AND g.hi) h
      UNION ALL
      (SELECT seq, resource_type, id, version_id, last_updated, deleted, content, patients, false FROM resource_history
        WHERE seq > ${state.high} ORDER BY seq LIMIT ${limit}))
    SELECT h.seq, h.resource_type, h.id AS resource_id, h.version_id, h.last_updated, h.deleted, CASE WHEN w.wanted THEN h.content END AS content,
      h.patients, p.deleted AS p_deleted, p.content AS p_content, p.patients AS p_patients, h.in_gap
    FROM h CROSS JOIN LATERAL (SELECT ${all} OR h.resource_type = ANY(${types}::text[]) AS wanted) w
    LEFT JOIN LATERAL (
      SELECT q.deleted, CASE WHEN q.resource_type = ANY(${statusTypes}::text[]) THEN q.content END AS content, q.patients FROM resource_history q
      WHERE w.wanted AND h.version_id > 1 AND q.resource_type = h.resource_type AND q.id = h.id AND q.version_id = h.version_id - 1
      -- LIMIT 1 (the key is unique anyway) keeps this a key probe per row: the prepared statement's generic plan,
      -- which cannot know how few rows the gaps hold, otherwise hash-joined a scan of all of resource_history
      -- (38 ms per poll at 40,000 versions, growing with history; 0.2 ms this way).
      LIMIT 1) p ON true
    ORDER BY h.seq`.execute(tx);
  return rows;
}

/**
 * Fans out up to `limit` history rows after the cursor, and what committed
 * inside its gaps since; returns how many rows after the cursor it read (0
 * when another instance holds the lock).
 */
export async function fanOut(db: Db, ctx: FhirContext, policy: EndpointPolicy, limit = 200, probe = true): Promise<number> {
  // Every idle poll of every instance asks: nothing new costs one round trip, not a transaction's. (A busy worker
  // skips it: the last batch found rows, the next one most likely will.)
  if (probe) {
    const { rows } = await sql<{ work: boolean }>`${prepared}
      SELECT cardinality(f.gap_lo) > 0 OR EXISTS (SELECT 1 FROM resource_history h WHERE h.seq > f.high) AS work FROM subscription_fanout f`.execute(db);
    if (!rows[0]?.work) return 0;
  }
  return db.transaction().execute(async (tx) => {
    // The lock first, in a statement of its own: the cursor's read then sees what its last holder committed.
    const { rows: lock } = await sql<{ locked: boolean }>`${prepared} SELECT pg_try_advisory_xact_lock(${fanOutLock}) AS locked`.execute(tx);
    if (!lock[0]?.locked) return 0;
    // A gap is decided when every transaction up to its xid has ended (history-cursor.ts). Nothing before the
    // rows' read may write: this transaction's own id, the xid of the gaps it finds, must be taken after that read.
    const { rows: cursors } = await sql<{ high: string; gap_lo: string[]; gap_hi: string[]; gap_xid: string[]; final: boolean[]; fresh: boolean; stamp: string }>`${prepared}
      SELECT high, gap_lo, gap_hi, gap_xid::text[] AS gap_xid, pg_current_xact_id_if_assigned() IS NULL AS fresh, (SELECT stamp FROM subscription_stamp) AS stamp,
        ARRAY(SELECT x < pg_snapshot_xmin(pg_current_snapshot()) FROM unnest(gap_xid) WITH ORDINALITY AS u(x, n) ORDER BY n) AS final
      FROM subscription_fanout`.execute(tx);
    const cursor = cursors[0];
    if (!cursor) return 0;
    if (!cursor.fresh) throw new Error('subscription fan-out: the transaction wrote before reading history');
    const state: CursorState = { high: Number(cursor.high), gaps: cursor.gap_lo.map((lo, i) => ({ lo: Number(lo), hi: Number(cursor.gap_hi[i]), xid: cursor.gap_xid[i] ?? null })) };
    const listing = await activeSubscriptions(tx, db, policy, cursor.stamp);
    const { subs } = listing;
    if (subs.length === 0) {
      // No one to tell: no version written so far can concern a subscription created later (it starts after them).
      await sql`UPDATE subscription_fanout SET high = greatest(high, (SELECT coalesce(max(seq), 0) FROM resource_history)), gap_lo = '{}', gap_hi = '{}', gap_xid = '{}'`.execute(tx);
      return 0;
    }
    const rows = await readVersions(tx, state, subs, limit);
    const tail = rows.filter((r) => !r.in_gap);
    const next = advance(state, cursor.final, rows.filter((r) => r.in_gap).map((r) => Number(r.seq)), tail.map((r) => Number(r.seq)));
    // Per row, the criteria groups it may match that have a member receiving it; per group, the ids to search.
    const seqs = rows.map((r) => Number(r.seq));
    const searchIds = new Map<CriteriaGroup, Set<string>>();
    const rowGroups = rows.map((row, i) => {
      if (row.deleted || row.content === null) return [];
      const groups = listing.criteria.candidates(row.resource_type, row.content).filter((g) => g.members.some((s) => seqs[i]! > s.firstSeq));
      for (const g of groups) {
        const ids = searchIds.get(g);
        if (ids) ids.add(row.resource_id);
        else searchIds.set(g, new Set([row.resource_id]));
      }
      return groups;
    });
    if (searchIds.size > 0 || listing.topics.length > 0) {
      const searched = searchIds.size > 0 ? await criteriaMatches(tx, { ...ctx, db: tx }, searchIds) : new Map<CriteriaGroup, Set<string>>();
      // Events in seq order, each subscription's in the order its numbers are given.
      const events: { s: string; rt: string; ri: string; v: number; topic: string; created: Date }[] = [];
      rows.forEach((row, i) => {
        const seq = seqs[i]!;
        let event: ChangeEvent | undefined;
        const add = (s: ActiveSubscription) => events.push({ s: s.id, rt: row.resource_type, ri: row.resource_id, v: row.version_id, topic: s.topicUrl, created: row.last_updated });
        for (const g of rowGroups[i]!) {
          if (!searched.get(g)?.has(row.resource_id)) continue;
          for (const s of g.members) {
            if (seq <= s.firstSeq) continue;
            event ??= changeEvent(row);
            if (ownerMaySee(s.actor, event.resource, event.patients)) add(s);
          }
        }
        for (const s of listing.topics) {
          if (!isTopicCandidate(s, row, seq)) continue;
          event ??= changeEvent(row);
          const { topic } = s.plan;
          if (topic && topic.triggers(event) && passesFilters(s.plan.filters, event) && ownerMaySee(s.actor, event.resource, event.patients)) add(s);
        }
      });
      if (events.length) await insertEvents(tx, events);
    }
    if (rows.length > 0 || next.gaps.length !== state.gaps.length) {
      // The gaps this fan-out found get its own transaction id, assigned here at the latest (after the rows' read).
      await sql`${prepared}
        UPDATE subscription_fanout SET high = ${next.high}, gap_lo = ${next.gaps.map((g) => g.lo)}::bigint[], gap_hi = ${next.gaps.map((g) => g.hi)}::bigint[],
          gap_xid = ARRAY(SELECT coalesce(x::xid8, pg_current_xact_id()) FROM unnest(${next.gaps.map((g) => g.xid)}::text[]) WITH ORDINALITY AS u(x, n) ORDER BY n)`.execute(tx);
    }
    return tail.length;
  });
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
