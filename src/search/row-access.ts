/**
 * The caller's readable set as SQL. Every search-shaped query (search and its
 * count, chains, _has, includes, conditional matching, history, $everything…)
 * ANDs these conditions in, so rows the caller may not read are never
 * counted, sorted, paged or returned: nothing is filtered after the fact.
 * Pure: the set itself is worked out from the token in src/auth/readable.ts.
 */
import { sql, type RawBuilder, type SqlBool } from 'kysely';
import type { Cond } from './compile-values.ts';

export interface RowAccess {
  /** Types whose every row is readable. */
  all: readonly string[];
  /** Types readable only inside `patient`'s compartment; `*`: every type not in `all`. */
  compartment: '*' | readonly string[];
  patient: string;
}

export type TypeAccess = 'all' | 'compartment' | 'none';

/** How much of a type the caller may read (undefined access: everything). */
export function typeAccess(access: RowAccess | undefined, type: string): TypeAccess {
  if (!access || access.all.includes(type)) return 'all';
  return access.compartment === '*' || access.compartment.includes(type) ? 'compartment' : 'none';
}

function inCompartment(patients: RawBuilder<unknown>, patient: string): Cond {
  // `@>` on the GIN-indexed column: a patient's rows are one index scan.
  return sql<SqlBool>`${patients} @> ARRAY[${patient}]::text[]`;
}

/**
 * The condition on a resource row whose type is `knownType` (or the value of
 * `typeColumn` when several types are searched) and whose compartment column is `patients`.
 * Undefined when nothing needs restricting (the query stays as it was).
 */
export function rowCondition(access: RowAccess | undefined, typeColumn: RawBuilder<unknown>, patients: RawBuilder<unknown>, knownType?: string): Cond | undefined {
  if (!access) return undefined;
  if (knownType !== undefined) {
    const level = typeAccess(access, knownType);
    return level === 'all' ? undefined : level === 'compartment' ? inCompartment(patients, access.patient) : sql<SqlBool>`false`;
  }
  const parts: Cond[] = [];
  if (access.all.length > 0) parts.push(sql<SqlBool>`${typeColumn} = ANY(${[...access.all]}::text[])`);
  if (access.compartment === '*') parts.push(inCompartment(patients, access.patient));
  else if (access.compartment.length > 0) parts.push(sql<SqlBool>`(${typeColumn} = ANY(${[...access.compartment]}::text[]) AND ${inCompartment(patients, access.patient)})`);
  return parts.length === 0 ? sql<SqlBool>`false` : parts.length === 1 ? parts[0] : sql<SqlBool>`(${sql.join(parts, sql` OR `)})`;
}

/** For a chain or _has hop onto `type`/`id`: that resource must be readable too. */
export function hopCondition(access: RowAccess | undefined, type: string, id: RawBuilder<unknown>, newAlias: () => string): Cond | undefined {
  const level = typeAccess(access, type);
  if (level === 'all' || !access) return undefined;
  if (level === 'none') return sql<SqlBool>`false`;
  // Asked for only when needed, so unrestricted searches keep the SQL (and aliases) they always had.
  const alias = newAlias();
  const x = sql.id(alias);
  return sql<SqlBool>`EXISTS (SELECT 1 FROM resource AS ${x} WHERE ${sql.ref(`${alias}.resource_type`)} = ${type} AND ${sql.ref(`${alias}.id`)} = ${id} AND NOT ${sql.ref(`${alias}.deleted`)} AND ${inCompartment(sql.ref(`${alias}.patients`), access.patient)})`;
}
