/**
 * The one query a bulk export streams: current, non-deleted resources of the
 * planned types, bounded by level (patient: any compartment; group: the
 * members' compartments), by `_since`, and for `patient/` scopes by the
 * token's patient. One pass over `resource` with no ORDER BY, so PostgreSQL
 * can scan sequentially; the writer splits rows into files by type. The
 * stored JSON is exported as it is: no parsing on the way out.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/database.ts';
import type { ExportPlan } from './export-plan.ts';

export function exportQuery(db: Kysely<Database>, plan: ExportPlan) {
  const types = [...plan.unrestricted, ...plan.patientScoped];
  let query = db
    .selectFrom('resource')
    .select(['resource_type', 'content'])
    .where('deleted', '=', false)
    .where(sql<boolean>`resource_type = ANY(${sql.val(types)}::text[])`);
  if (plan.since) query = query.where('last_updated', '>=', new Date(plan.since));
  if (plan.level === 'patient' && !plan.members) query = query.where(sql<boolean>`cardinality(patients) > 0`);
  // Group level, or the `patient` parameter at either level: those patients' compartments.
  if (plan.level === 'group' || plan.members) query = query.where(sql<boolean>`patients && ${sql.val(plan.members ?? [])}::text[]`);
  if (plan.patientScoped.length > 0) {
    const patient = plan.patient ?? '';
    query =
      plan.unrestricted.length > 0
        ? query.where(sql<boolean>`(resource_type = ANY(${sql.val(plan.unrestricted)}::text[]) OR patients @> ARRAY[${patient}]::text[])`)
        : query.where(sql<boolean>`patients @> ARRAY[${patient}]::text[]`);
  }
  return query;
}
