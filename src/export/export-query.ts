/**
 * The queries a bulk export streams. The main one: current, non-deleted
 * resources of the planned types, bounded by level (patient: any
 * compartment; group: the members' compartments), by `_since`, for
 * `patient/` scopes by the token's patient, and by `_typeFilter`. One pass
 * over `resource` with no ORDER BY, so PostgreSQL can scan sequentially; the
 * writer splits rows into files by type. The stored JSON is exported as it
 * is: no parsing on the way out (unless `_elements` asks for a subset).
 * With `includeAssociatedData`, a second query: the Provenance whose target
 * is a resource the main query exports, within the token's readable set.
 */
import { sql, type Kysely, type SqlBool } from 'kysely';
import { and, type Cond } from '../search/compile-values.ts';
import { rowCondition } from '../search/row-access.ts';
import type { Database } from '../store/database.ts';
import type { ExportPlan } from './export-plan.ts';
import { typeFilterCondition } from './type-filter.ts';

/** What a resource row (alias `r`) must meet to be exported by the plan. */
export function exportCondition(plan: ExportPlan): Cond {
  const types = [...plan.unrestricted, ...plan.patientScoped];
  const parts: Cond[] = [sql<SqlBool>`r.resource_type = ANY(${sql.val(types)}::text[])`, sql<SqlBool>`NOT r.deleted`];
  if (plan.since) parts.push(sql<SqlBool>`r.last_updated >= ${new Date(plan.since)}`);
  if (plan.level === 'patient' && !plan.members) parts.push(sql<SqlBool>`cardinality(r.patients) > 0`);
  // Group level, or the `patient` parameter at either level: those patients' compartments.
  if (plan.level === 'group' || plan.members) parts.push(sql<SqlBool>`r.patients && ${sql.val(plan.members ?? [])}::text[]`);
  if (plan.patientScoped.length > 0) {
    const patient = plan.patient ?? '';
    parts.push(
      plan.unrestricted.length > 0
        ? sql<SqlBool>`(r.resource_type = ANY(${sql.val(plan.unrestricted)}::text[]) OR r.patients @> ARRAY[${patient}]::text[])`
        : sql<SqlBool>`r.patients @> ARRAY[${patient}]::text[]`,
    );
  }
  if (plan.typeFilter) parts.push(typeFilterCondition(plan.typeFilter, plan.access));
  return and(parts);
}

export function exportQuery(db: Kysely<Database>, plan: ExportPlan) {
  return db.selectFrom('resource as r').select(['r.resource_type', 'r.content']).where(exportCondition(plan));
}

/** A Provenance (alias `alias`) the token may read. */
function readableProvenance(plan: ExportPlan, alias: string): Cond {
  return rowCondition(plan.access, sql`'Provenance'`, sql.ref(`${alias}.patients`), 'Provenance') ?? sql<SqlBool>`true`;
}

/** `Provenance.recorded` of the Provenance `alias` (its index row), for "most recent". */
function recorded(alias: string) {
  return sql`coalesce((SELECT max(d.lo) FROM sp_date AS d WHERE d.resource_type = 'Provenance' AND d.id = ${sql.ref(`${alias}.id`)} AND d.param = 'recorded'), '-infinity'::timestamptz)`;
}

/**
 * The Provenance associated with the exported resources (not themselves
 * exported by the main query): every one whose `target` is exported
 * (`relevant`), or only those that are the most recent readable Provenance
 * (by `recorded`, then id) of at least one exported target (`latest`).
 */
export function provenanceQuery(db: Kysely<Database>, plan: ExportPlan) {
  const exported = exportCondition(plan);
  const newer = sql<SqlBool>`EXISTS (SELECT 1 FROM sp_reference AS nt JOIN resource AS np ON np.resource_type = 'Provenance' AND np.id = nt.id
    WHERE nt.resource_type = 'Provenance' AND nt.param = 'target' AND nt.url IS NULL AND nt.target_type = pt.target_type AND nt.target_id = pt.target_id
    AND NOT np.deleted AND ${readableProvenance(plan, 'np')} AND (${recorded('np')}, np.id) > (${recorded('p')}, p.id))`;
  const target = sql<SqlBool>`EXISTS (SELECT 1 FROM sp_reference AS pt JOIN resource AS r ON r.resource_type = pt.target_type AND r.id = pt.target_id
    WHERE pt.resource_type = 'Provenance' AND pt.id = p.id AND pt.param = 'target' AND pt.url IS NULL AND r.resource_type <> 'Provenance'
    AND ${exported}${plan.associated === 'latest' ? sql` AND NOT ${newer}` : sql``})`;
  const itself = sql<SqlBool>`EXISTS (SELECT 1 FROM resource AS r WHERE r.resource_type = 'Provenance' AND r.id = p.id AND ${exported})`;
  return db
    .selectFrom('resource as p')
    .select(['p.resource_type', 'p.content'])
    .where(and([sql<SqlBool>`p.resource_type = 'Provenance'`, sql<SqlBool>`NOT p.deleted`, readableProvenance(plan, 'p'), target, sql<SqlBool>`NOT ${itself}`]));
}
