/**
 * One AND term of a search (a Filter) → an SQL condition on the resource
 * identified by `outer` (its type and id expressions). Every parameter is an
 * EXISTS on its index table; chains and _has nest the same function with the
 * reference row as the new outer resource.
 */
import { sql, type RawBuilder, type SqlBool } from 'kysely';
import { and, dateCond, numberCond, or, quantityCond, referenceCond, stringCond, tokenCond, tokenTextCond, uriCond, type Cond } from './compile-values.ts';
import { hopCondition, type RowAccess } from './row-access.ts';
import { tableOf, type IndexTable, type ParamType, type SearchParam } from './search-parameters.ts';
import type { DateValue, Filter, NumberValue, QuantityValue, ReferenceValue, ScalarValue, StringValue, TokenValue, UriValue } from './search-request.ts';

export interface Outer {
  /** A bound value when the type is known (lets the index be used), else a column. */
  type: RawBuilder<unknown>;
  id: RawBuilder<unknown>;
  /** Present when the outer resource row is in scope (top level). */
  lastUpdated?: RawBuilder<unknown>;
  /** The ids `id` can only be, when the request lists them (`_id`): told to the planner as constants. */
  ids?: readonly string[];
}

export interface CompileContext {
  baseUrl?: string;
  now: Date;
  /** Alias counter: aliases are generated here, never taken from the request. */
  aliases: number;
  /** The caller's readable set: every resource a chain or _has passes through must be in it. */
  access?: RowAccess;
}

export function compileFilter(f: Filter, outer: Outer, ctx: CompileContext): Cond {
  switch (f.kind) {
    case 'id': {
      const cond = sql<SqlBool>`${outer.id} = ANY(${f.ids}::text[])`;
      return f.not ? sql<SqlBool>`NOT ${cond}` : cond;
    }
    case 'lastUpdated':
      return lastUpdated(f.values, outer, ctx);
    case 'missing': {
      const table = tableFor(f.param);
      const code = f.param.type === 'composite' ? `${f.param.code}$0` : f.param.code;
      const found = exists(table, outer, code, sql<SqlBool>`true`, ctx);
      return f.missing ? sql<SqlBool>`NOT ${found}` : found;
    }
    case 'param':
      return paramCond(f.param, f.modifier, f.values, outer, ctx);
    case 'composite':
      return or(f.values.map((components) => composite(f.param, components, outer, ctx)));
    case 'chain': {
      const a = alias(ctx);
      const targets = f.targets.map((t) => {
        const hop = hopCondition(ctx.access, t.type, sql.ref(`${a}.target_id`), () => alias(ctx));
        return and([sql<SqlBool>`${sql.ref(`${a}.target_type`)} = ${t.type}`, ...(hop ? [hop] : []), compileFilter(t.filter, { type: sql`${t.type}`, id: sql.ref(`${a}.target_id`) }, ctx)]);
      });
      return existsAs('sp_reference', a, outer, f.param.code, and([sql<SqlBool>`${sql.ref(`${a}.url`)} IS NULL`, or(targets)]));
    }
    case 'has': {
      const a = alias(ctx);
      const hop = hopCondition(ctx.access, f.sourceType, sql.ref(`${a}.id`), () => alias(ctx));
      const inner = and([...(hop ? [hop] : []), compileFilter(f.filter, { type: sql`${f.sourceType}`, id: sql.ref(`${a}.id`) }, ctx)]);
      // With the outer ids known (`Patient?_id=x&_has:…`), the same condition with them as constants lets the planner
      // estimate how many rows point at them (the patient's hundreds of Observations, not the average of one) and choose
      // between probing each of those rows for the inner filter and starting from the inner filter's own index.
      const known = outer.ids ? sql<SqlBool>` AND ${sql.ref(`${a}.target_id`)} = ANY(${[...outer.ids]}::text[])` : sql``;
      return sql<SqlBool>`EXISTS (SELECT 1 FROM sp_reference AS ${sql.id(a)} WHERE ${sql.ref(`${a}.resource_type`)} = ${f.sourceType} AND ${sql.ref(`${a}.param`)} = ${f.param.code} AND ${sql.ref(`${a}.target_type`)} = ${outer.type} AND ${sql.ref(`${a}.target_id`)} = ${outer.id}${known} AND ${sql.ref(`${a}.url`)} IS NULL AND ${inner})`;
    }
  }
}

function paramCond(param: SearchParam, modifier: string | undefined, values: ScalarValue[], outer: Outer, ctx: CompileContext): Cond {
  if (param.type === 'token' && modifier === 'not') {
    // :not — resources with no value equal to any of these (including resources without a value).
    return sql<SqlBool>`NOT ${paramCond(param, undefined, values, outer, ctx)}`;
  }
  if (param.type === 'token' && modifier === 'of-type') return tokenExists(`${param.code}:of-type`, values as TokenValue[], outer, ctx);
  if (param.type === 'reference' && modifier === 'identifier') return tokenExists(`${param.code}:identifier`, values as TokenValue[], outer, ctx);
  const a = alias(ctx);
  const conds = values.map((v) => valueCond(param.type as Exclude<ParamType, 'composite'>, a, v, modifier, ctx));
  return existsAs(tableFor(param), a, outer, param.code, or(conds));
}

function tokenExists(code: string, values: TokenValue[], outer: Outer, ctx: CompileContext): Cond {
  const a = alias(ctx);
  return existsAs('sp_token', a, outer, code, or(values.map((v) => tokenCond(a, v))));
}

function valueCond(type: Exclude<ParamType, 'composite'>, a: string, v: ScalarValue, modifier: string | undefined, ctx: CompileContext): Cond {
  switch (type) {
    case 'string':
      return stringCond(a, v as StringValue, modifier);
    case 'token':
      return modifier === 'text' ? tokenTextCond(a, v as StringValue) : tokenCond(a, v as TokenValue);
    case 'date':
      return dateCond(a, v as DateValue, ctx.now);
    case 'number':
      return numberCond(a, v as NumberValue);
    case 'quantity':
      return quantityCond(a, v as QuantityValue);
    case 'reference':
      return referenceCond(a, v as ReferenceValue, ctx.baseUrl);
    case 'uri':
      return uriCond(a, v as UriValue, modifier);
  }
}

/** Components must come from the same repetition of the base element (same `grp`). */
function composite(param: SearchParam, values: ScalarValue[], outer: Outer, ctx: CompileContext): Cond {
  const aliases = param.components.map(() => alias(ctx));
  let inner: Cond = sql<SqlBool>`true`;
  for (let n = param.components.length - 1; n >= 0; n--) {
    const a = aliases[n]!;
    const cond = valueCond(param.components[n]!.type, a, values[n]!, undefined, ctx);
    const sameGroup = n > 0 ? sql<SqlBool>`${sql.ref(`${a}.grp`)} = ${sql.ref(`${aliases[0]}.grp`)}` : sql<SqlBool>`true`;
    inner = existsAs(tableOf[param.components[n]!.type], a, outer, `${param.code}$${n}`, and([cond, sameGroup, inner]));
  }
  return inner;
}

function lastUpdated(values: DateValue[], outer: Outer, ctx: CompileContext): Cond {
  if (outer.lastUpdated) {
    const lu = outer.lastUpdated;
    return or(values.map((v) => dateCond('r', v, ctx.now, lu, lu)));
  }
  const a = alias(ctx);
  const lu = sql.ref(`${a}.last_updated`);
  return sql<SqlBool>`EXISTS (SELECT 1 FROM resource AS ${sql.id(a)} WHERE ${sql.ref(`${a}.resource_type`)} = ${outer.type} AND ${sql.ref(`${a}.id`)} = ${outer.id} AND ${or(values.map((v) => dateCond(a, v, ctx.now, lu, lu)))})`;
}

function tableFor(param: SearchParam): IndexTable {
  return param.type === 'composite' ? tableOf[param.components[0]!.type] : tableOf[param.type];
}

function alias(ctx: CompileContext): string {
  ctx.aliases += 1;
  return `s${ctx.aliases}`;
}

function exists(table: IndexTable, outer: Outer, code: string, cond: Cond, ctx: CompileContext): Cond {
  return existsAs(table, alias(ctx), outer, code, cond);
}

function existsAs(table: IndexTable, a: string, outer: Outer, code: string, cond: Cond): Cond {
  return sql<SqlBool>`EXISTS (SELECT 1 FROM ${sql.table(table)} AS ${sql.id(a)} WHERE ${sql.ref(`${a}.resource_type`)} = ${outer.type} AND ${sql.ref(`${a}.id`)} = ${outer.id} AND ${sql.ref(`${a}.param`)} = ${code} AND ${cond})`;
}
