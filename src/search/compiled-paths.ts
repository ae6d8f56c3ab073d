/**
 * Search parameter expressions compiled to plain property walks: the shapes
 * that are nearly all of R4's (`Patient.name`, `Observation.code.coding`,
 * `Condition.onset.ofType(Period)`, unions of those) become one closure per
 * parameter that reads the JSON directly, giving the same typed values as
 * Medplum's FHIRPath engine, in the same order. Where the engine's answer
 * depends on something a closure does not reproduce (a primitive extension
 * `_birthDate`, a property the type schema does not know, `where(…)`), the
 * closure says so (undefined) and the FHIRPath is evaluated as before.
 * extract-index-values.test.ts compares both over the Synthea and HL7 corpora.
 *
 * Why: interpreting the FHIRPath tree was most of index extraction's CPU (~120 µs
 * per Synthea resource), for expressions that are nearly all simple paths.
 */
import {
  AndAtom,
  DotAtom,
  EqualsAtom,
  fhirPathArrayEquals,
  fhirPathIs,
  FhirPathAtom,
  FunctionAtom,
  getElementDefinition,
  isEmpty,
  IsAtom,
  LiteralAtom,
  OrAtom,
  removeDuplicates,
  SymbolAtom,
  toJsBoolean,
  UnionAtom,
  type Atom,
  type TypedValue,
} from '@medplum/core';

/** The typed values of an expression on a resource (or a component's base value), or undefined when only FHIRPath can tell. */
export type CompiledPath = (input: TypedValue) => TypedValue[] | undefined;

type Step = (input: TypedValue[]) => TypedValue[] | undefined;

interface Getter {
  /** JSON key and the type it gives, in the schema's order (a choice element has one per type). */
  candidates: readonly (readonly [key: string, type: string, extensionKey: string])[];
  /** Element and BackboneElement values take the element's first type (Medplum's inner type name). */
  firstType: string;
}

/** The getter of property `name` on values of `type`; `byType` is the calling step's own cache. */
function getterFor(byType: Map<string, Getter | null>, type: string, name: string): Getter | null {
  let g = byType.get(type);
  if (g === undefined) {
    const element = getElementDefinition(type, name);
    if (!element || !element.type?.length) {
      g = null;
    } else {
      const last = element.path.slice(element.path.lastIndexOf('.') + 1);
      const choice = last.endsWith('[x]');
      const trimmed = choice ? last.slice(0, -3) : last;
      g = {
        candidates: element.type.map((t) => {
          const key = choice ? trimmed + t.code.charAt(0).toUpperCase() + t.code.slice(1) : trimmed;
          return [key, t.code, `_${key}`] as const;
        }),
        firstType: element.type[0]!.code,
      };
    }
    byType.set(type, g);
  }
  return g;
}

type Json = Record<string, unknown>;

type PathValue = TypedValue & { path?: string };

/**
 * Medplum's getTypedPropertyValueWithSchema, for values without primitive
 * extensions; false when unsure. `paths`: give each value the path the engine
 * gives it (`Observation.component[1].code`), which its union compares.
 */
function property(tv: PathValue, name: string, byType: Map<string, Getter | null>, out: PathValue[], paths: boolean): boolean {
  const value = tv.value as unknown;
  if (!value || typeof value !== 'object') return true;
  // The engine treats a symbol naming the value's own resource type as the value itself.
  if ((value as Json).resourceType === name) return false;
  const g = getterFor(byType, tv.type, name);
  if (!g) return false;
  let result: unknown;
  let type = '';
  for (const [key, code, extensionKey] of g.candidates) {
    result = (value as Json)[key];
    if ((value as Json)[extensionKey] !== undefined) return false;
    if (result !== undefined) {
      type = code;
      break;
    }
  }
  if (isEmpty(result)) return true;
  if (type === 'Element' || type === 'BackboneElement') type = g.firstType;
  const prefix = paths ? (tv.path ? `${tv.path}.${name}` : name) : '';
  if (Array.isArray(result)) {
    for (let i = 0; i < result.length; i++) {
      const item: unknown = result[i];
      if (item === undefined || item === null) return false;
      out.push(paths ? { type: typeOf(item, type), value: item, path: `${prefix}[${i}]` } : { type: typeOf(item, type), value: item });
    }
  } else {
    out.push(paths ? { type: typeOf(result, type), value: result, path: prefix } : { type: typeOf(result, type), value: result });
  }
  return true;
}

/** A `Resource` value is typed by its resourceType, as the engine does (isResource: any object with that key). */
function typeOf(value: unknown, type: string): string {
  return type === 'Resource' && value !== null && typeof value === 'object' && 'resourceType' in value ? ((value as Json).resourceType as string) : type;
}

function symbolStep(name: string, paths: boolean): Step {
  const byType = new Map<string, Getter | null>();
  return (input) => {
    const out: TypedValue[] = [];
    for (const tv of input) if (!property(tv, name, byType, out, paths)) return undefined;
    return out;
  };
}

/** FHIRPath's resolve() of one value, as the engine does it without a server: the type named by the reference. */
function resolveOne(e: TypedValue): TypedValue | null | undefined {
  const value = e.value as unknown;
  let ref: string | undefined;
  if (typeof value === 'string') {
    ref = value;
  } else if (typeof value === 'object' && value !== null) {
    const r = value as { resource?: unknown; reference?: unknown; type?: unknown; identifier?: unknown };
    // An inline resource, or a reference by identifier: left to the engine.
    if (r.resource || (!r.reference && r.type && r.identifier)) return undefined;
    if (r.reference) {
      if (typeof r.reference !== 'string') return undefined;
      ref = r.reference;
    }
  }
  if (ref?.includes('?')) {
    const [resourceType] = ref.split('?');
    return { type: resourceType!, value: { resourceType } };
  }
  if (ref?.includes('/')) {
    const [resourceType, id] = ref.split('/');
    return { type: resourceType!, value: { resourceType, id } };
  }
  return null;
}

type Criteria = (e: TypedValue) => TypedValue[] | undefined;

const booleanResult = (value: boolean): TypedValue[] => [{ type: 'boolean', value }];

/** The engine's singleton(collection, 'boolean'): null for empty, undefined for what would throw. */
function singleBoolean(c: TypedValue[]): TypedValue | null | undefined {
  if (c.length === 0) return null;
  return c.length === 1 && c[0]!.type === 'boolean' ? c[0] : undefined;
}

/**
 * The criteria of `where(…)` that parameters use, as the collection the
 * engine's atoms give: `resolve() is Type`, `path = 'literal'`, `path.exists()`,
 * `path.startsWith('literal')`, and `and` / `or` of those (their code follows
 * the engine's AndAtom, OrAtom, exists and startsWith).
 */
function compileCriteria(atom: Atom, resourceType: string): Criteria | undefined {
  if (atom instanceof IsAtom && atom.left instanceof FunctionAtom && atom.left.name === 'resolve' && atom.left.args.length === 0 && atom.right instanceof SymbolAtom) {
    const typeName = atom.right.name;
    return (e) => {
      const resolved = resolveOne(e);
      if (resolved === undefined) return undefined;
      return resolved === null ? [] : booleanResult(fhirPathIs(resolved, typeName));
    };
  }
  if (atom instanceof EqualsAtom && atom.right instanceof LiteralAtom) {
    const left = compileAtom(atom.left, resourceType, false, false);
    const literal = [atom.right.value];
    return left && ((e) => {
      const values = left([e]);
      return values && fhirPathArrayEquals(values, literal);
    });
  }
  if (atom instanceof AndAtom || atom instanceof OrAtom) {
    const and = atom instanceof AndAtom;
    const left = compileCriteria(atom.left, resourceType);
    const right = compileCriteria(atom.right, resourceType);
    if (!left || !right) return undefined;
    return (e) => {
      const a = left(e);
      const b = a && right(e);
      if (!b) return undefined;
      const l = singleBoolean(a!);
      const r = singleBoolean(b);
      if (l === undefined || r === undefined) return undefined;
      if (and) {
        if (l?.value === true && r?.value === true) return booleanResult(true);
        return l?.value === false || r?.value === false ? booleanResult(false) : [];
      }
      if (l?.value === false && r?.value === false) return booleanResult(false);
      return l?.value || r?.value ? booleanResult(true) : [];
    };
  }
  if (atom instanceof DotAtom && atom.right instanceof FunctionAtom) {
    const fn = atom.right;
    const path = compileAtom(atom.left, resourceType, false, false);
    if (!path) return undefined;
    if (fn.name === 'exists' && fn.args.length === 0) {
      return (e) => {
        const values = path([e]);
        return values && booleanResult(values.length > 0 && values.every((v) => !isEmpty(v.value)));
      };
    }
    const prefix = fn.args[0];
    if (fn.name === 'startsWith' && fn.args.length === 1 && prefix instanceof LiteralAtom && typeof prefix.value.value === 'string') {
      const text = prefix.value.value;
      return (e) => {
        const values = path([e]);
        if (!values) return undefined;
        if (values.length === 0) return [];
        const value: unknown = values[0]!.value;
        return values.length === 1 && typeof value === 'string' ? booleanResult(value.startsWith(text)) : undefined;
      };
    }
  }
  return undefined;
}

function compileAtom(atom: Atom, resourceType: string, first: boolean, paths: boolean): Step | undefined {
  if (atom instanceof SymbolAtom) {
    if (atom.name.startsWith('%') || atom.name.startsWith('$')) return undefined;
    // Only `Type.…` at the start: the engine returns a resource for its own type's name.
    if (first) return atom.name !== resourceType ? undefined : paths ? (input) => input.map((v) => ({ ...v, path: (v as PathValue).path ?? resourceType })) : (input) => input;
    return symbolStep(atom.name, paths);
  }
  if (atom instanceof DotAtom) {
    const left = compileAtom(atom.left, resourceType, first, paths);
    const right = compileAtom(atom.right, resourceType, false, paths);
    if (!left || !right) return undefined;
    return (input) => {
      const mid = left(input);
      return mid && right(mid);
    };
  }
  if (atom instanceof UnionAtom) {
    const left = compileAtom(atom.left, resourceType, first, paths);
    const right = compileAtom(atom.right, resourceType, first, paths);
    if (!left || !right) return undefined;
    return (input) => {
      const a = left(input);
      const b = a && right(input);
      return b && removeDuplicates([...a, ...b]);
    };
  }
  if (atom instanceof FunctionAtom && atom.name === 'where' && !first && atom.args.length === 1) {
    const criteria = compileCriteria(atom.args[0]!, resourceType);
    if (!criteria) return undefined;
    return (input) => {
      const out: TypedValue[] = [];
      for (const e of input) {
        const result = criteria(e);
        if (result === undefined) return undefined;
        if (toJsBoolean(result)) out.push(e);
      }
      return out;
    };
  }
  if (atom instanceof FunctionAtom && atom.name === 'ofType' && !first && atom.args.length === 1 && atom.args[0] instanceof SymbolAtom) {
    const typeName = atom.args[0].name;
    return (input) => input.filter((e) => fhirPathIs(e, typeName));
  }
  return undefined;
}

function hasUnion(atom: Atom): boolean {
  if (atom instanceof UnionAtom) return true;
  const a = atom as { left?: Atom; right?: Atom; child?: Atom; args?: Atom[] };
  return [a.left, a.right, a.child, ...(a.args ?? [])].some((x) => x !== undefined && hasUnion(x));
}

/**
 * The compiled form of a parameter's expression on `resourceType`, if it has
 * one; `relative`: a composite's component, evaluated on one value of the
 * parameter's own expression (`value.ofType(Quantity)` on an Observation).
 */
export function compilePath(atom: Atom, resourceType: string, relative = false): CompiledPath | undefined {
  // The root FhirPathAtom evaluates its child once per input: one value here.
  const body = atom instanceof FhirPathAtom ? atom.child : atom;
  // Paths cost an allocation per value; only a union needs them (its duplicates are told apart by path).
  const step = compileAtom(body, resourceType, !relative, hasUnion(body));
  if (!step) return undefined;
  return (input) => {
    const out = step([input]);
    // As evalFhirPathTyped hands them out: primitive wrappers unwrapped.
    return out?.map((v) => ({ type: v.type, value: v.value?.valueOf() }));
  };
}
