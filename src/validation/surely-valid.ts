/**
 * The fast path of base validation: one walk of the properties present,
 * compiled per type, that answers "certainly valid" only when every check of
 * the full validation (Medplum's validateResource, element-rules.ts,
 * required-bindings.ts) would find nothing. Anything it is not sure of —
 * a broken rule, an empty or null value, a primitive extension (`_given`), a
 * slice, a fixed value, an unknown or conflicting key — makes it answer
 * "not sure", and the full validation then runs as before, so the issues a
 * client sees are exactly the old ones. Only the yes needs to be right: it
 * must never accept what the full validation refuses
 * (surely-valid.test.ts checks that over the Synthea and HL7 corpora, their
 * mutations and every existing validation test).
 *
 * Why: Medplum's validator visits every element of every type's schema,
 * present or not, and evaluates each invariant from its FHIRPath text; on
 * Synthea resources that was ~80 % of the write path's CPU before the
 * database. Here only present keys are visited, the invariants are parsed
 * once, and the most frequent ones are exact JavaScript predicates
 * (invariant-predicates.ts, each checked against its FHIRPath).
 */
import {
  fhirTypeToJsType,
  getDataType,
  isResourceType,
  isValidCalendarDate,
  parseFhirPath,
  toTypedValue,
  UCUM,
  validationRegexes,
  type FhirPathAtom,
  type InternalSchemaElement,
  type InternalTypeSchema,
  type TypedValue,
} from '@medplum/core';
import { elementRulesPlan, isBase64Binary } from './element-rules.ts';
import { narrativeProblems } from './narrative-xhtml.ts';
import { bindingPlan } from './required-bindings.ts';
import { nativePredicate, type FhirPathResult, type NativePredicate } from './invariant-predicates.ts';

/** An invariant: its native predicate where one exists (undefined answer: not sure), else the parsed FHIRPath. */
interface Check {
  key: string;
  expression: string;
  atom: FhirPathAtom;
  native: NativePredicate | undefined;
}

type Kind = 'primitive' | 'complex' | 'resource';

interface KeyStep {
  code: string;
  kind: Kind;
  jsType: string | undefined;
  isArray: boolean;
  max: number;
  min: number;
  /** Choice elements: the element name, to see two of its keys at once. */
  choice: string | undefined;
  /** Something this walk does not check (pattern, fixed value, slices, an unknown primitive): never sure. */
  unsure: boolean;
  /** Medplum's element constraints: each must be exactly true. */
  constraints: readonly Check[];
  /** element-rules.ts's data-type invariants: none may be false. */
  typeInvariants: readonly Check[];
  /** required-bindings.ts's code set. */
  codes: ReadonlySet<string> | undefined;
  /** Where the complex value's own keys are described (inner backbone types first, as Medplum's crawler does). */
  schemaName: string | undefined;
}

interface Plan {
  keys: Map<string, KeyStep>;
  /** Candidate keys of each element with min > 0. */
  required: readonly (readonly string[])[];
  /** The resource's own constraints (only checked at the root, as Medplum does). */
  rootConstraints: readonly Check[];
  resource: boolean;
}

/** Constraints Medplum does not evaluate (validation.ts skippedConstraintKeys). */
const skippedByMedplum = new Set(['ele-1', 'dom-3', 'org-1', 'sdf-19']);

const plans = new Map<string, Plan | null>();
const parsed = new Map<string, FhirPathAtom>();

function check(key: string, expression: string): Check {
  let atom = parsed.get(expression);
  if (!atom) {
    atom = parseFhirPath(expression);
    parsed.set(expression, atom);
  }
  return { key, expression, atom, native: nativePredicate(key, expression) };
}

function medplumConstraints(list: InternalSchemaElement['constraints'] | InternalTypeSchema['constraints']): Check[] {
  return (list ?? []).filter((c) => c.severity === 'error' && !skippedByMedplum.has(c.key)).map((c) => check(c.key, c.expression));
}

function choiceKey(name: string, code: string): string {
  return name.slice(0, -3) + code.charAt(0).toUpperCase() + code.slice(1);
}

function buildPlan(name: string): Plan | null {
  let schema: InternalTypeSchema;
  try {
    schema = getDataType(name);
  } catch {
    return null;
  }
  const rules = elementRulesPlan(name);
  const bindings = bindingPlan(name);
  const keys = new Map<string, KeyStep>();
  const required: string[][] = [];
  for (const [elementName, element] of Object.entries(schema.elements)) {
    const choice = elementName.endsWith('[x]');
    const candidates: string[] = [];
    const constraints = medplumConstraints(element.constraints);
    for (const type of element.type ?? []) {
      const key = choice ? choiceKey(elementName, type.code) : elementName;
      candidates.push(key);
      if (keys.has(key)) continue; // Medplum takes the first type that matches a key.
      const code = type.code;
      const primitive = code in fhirTypeToJsType;
      const kind = code === 'Resource' ? 'resource' : primitive ? 'primitive' : 'complex';
      const rule = rules.get(key);
      const binding = bindings.get(key);
      keys.set(key, {
        code,
        kind,
        jsType: primitive ? fhirTypeToJsType[code as keyof typeof fhirTypeToJsType] : undefined,
        isArray: element.isArray === true,
        max: element.max,
        min: element.min,
        choice: choice ? elementName : undefined,
        unsure: element.pattern !== undefined || element.fixed !== undefined || element.slicing !== undefined || (!primitive && code.startsWith('http://')) || code === 'undefined' || element.max < 1,
        constraints,
        typeInvariants: rule?.kind === 'type' ? rule.invariants.map((i) => check(i.key, i.expression)) : [],
        codes: binding?.kind === 'code' ? binding.codes : undefined,
        schemaName: kind === 'complex' ? (schema.innerTypes?.find((t) => t.name === code)?.name ?? code) : undefined,
      });
    }
    if (element.min > 0) required.push(candidates);
  }
  return { keys, required, rootConstraints: medplumConstraints(schema.constraints), resource: isResourceType(name) };
}

function planOf(name: string): Plan | null {
  let plan = plans.get(name);
  if (plan === undefined) {
    plan = buildPlan(name);
    plans.set(name, plan);
  }
  return plan;
}

interface Walk {
  root: TypedValue;
  resource: TypedValue;
}

const ucum = toTypedValue(UCUM);

type Rule = 'exactly-true' | 'not-false';

/**
 * Whether invariant `c` is satisfied: Medplum's constraints must be exactly
 * true; element-rules.ts's type invariants only must not be false (an empty
 * result means the rule does not apply). An evaluation error is "not sure".
 */
function satisfied(c: Check, rule: Rule, context: TypedValue, w: Walk): boolean {
  const answer = c.native?.(context.value, w.resource.value, w.root.value);
  if (answer === undefined) return accepts(rule, byFhirPath(c, context, w));
  if (shadow) shadow(c.key, answer, byFhirPath(c, context, w));
  return accepts(rule, answer);
}

function accepts(rule: Rule, result: FhirPathResult | undefined): boolean {
  return result === 'true' || (result === 'empty' && rule === 'not-false');
}

/** The invariant's FHIRPath result, classified; undefined for anything else (an error, a collection, a non-boolean). */
function byFhirPath(c: Check, context: TypedValue, w: Walk): FhirPathResult | undefined {
  try {
    const result = c.atom.eval({ variables: { '%context': context, '%ucum': ucum, '%resource': w.resource, '%rootResource': w.root } }, [context]);
    if (result.length === 0) return 'empty';
    const value: unknown = result.length === 1 ? result[0]?.value?.valueOf() : undefined;
    return value === true ? 'true' : value === false ? 'false' : undefined;
  } catch {
    return undefined;
  }
}

let shadow: ((key: string, native: FhirPathResult, fhirPath: FhirPathResult | undefined) => void) | undefined;

/** Tests: also evaluate the FHIRPath of every invariant a native predicate answered, and report both answers. */
export function shadowNativePredicates(report: typeof shadow): void {
  shadow = report;
}

const oneMegabyte = 1024 * 1024;
const integerMin = -2_147_483_648;
const integerMax = 2_147_483_647;

function primitiveOk(value: unknown, step: KeyStep): boolean {
  if (typeof value !== step.jsType) return false;
  const code = step.code;
  if (step.jsType === 'string') {
    const s = value as string;
    if (s.length === 0 || s.length > oneMegabyte || !s.trim()) return false;
    if (code === 'base64Binary') return /^[A-Za-z\d+/]+={0,2}$/.test(s) && s.length % 4 === 0 && isBase64Binary(s);
    const regex = validationRegexes[code];
    if (regex && !regex.test(s)) return false;
    if ((code === 'date' || code === 'dateTime' || code === 'instant') && !isValidCalendarDate(s)) return false;
    if (step.codes && !step.codes.has(s)) return false;
    if (code === 'xhtml' && narrativeProblems(s).length > 0) return false;
    return true;
  }
  if (step.jsType === 'number') {
    const n = value as number;
    if (!Number.isFinite(n)) return false;
    if (code === 'integer') return Number.isInteger(n) && n >= integerMin && n <= integerMax;
    if (code === 'positiveInt') return Number.isInteger(n) && n >= 1 && n <= integerMax;
    if (code === 'unsignedInt') return Number.isInteger(n) && n >= 0 && n <= integerMax;
    return true;
  }
  return true;
}

function valueOk(value: unknown, step: KeyStep, w: Walk): boolean {
  if (value === null || value === undefined) return false;
  if (step.kind === 'primitive') {
    if (!primitiveOk(value, step)) return false;
    if (step.constraints.length === 0) return true;
    const context: TypedValue = { type: step.code, value };
    for (const c of step.constraints) if (!satisfied(c, 'exactly-true', context, w)) return false;
    return true;
  }
  if (typeof value !== 'object' || Array.isArray(value)) return false;
  if (step.kind === 'resource') {
    const type = (value as { resourceType?: unknown }).resourceType;
    if (typeof type !== 'string' || !isResourceType(type)) return false;
    const context: TypedValue = { type, value };
    for (const c of step.constraints) if (!satisfied(c, 'exactly-true', context, w)) return false;
    const plan = planOf(type);
    return plan !== null && objectOk(value as Record<string, unknown>, plan, { root: w.root, resource: context });
  }
  const context: TypedValue = { type: step.code, value };
  for (const c of step.constraints) if (!satisfied(c, 'exactly-true', context, w)) return false;
  for (const c of step.typeInvariants) if (!satisfied(c, 'not-false', context, w)) return false;
  const plan = planOf(step.schemaName ?? step.code);
  return plan !== null && objectOk(value as Record<string, unknown>, plan, w);
}

function objectOk(node: Record<string, unknown>, plan: Plan, w: Walk): boolean {
  let any = false;
  let choices: string[] | undefined;
  for (const key in node) {
    any = true;
    const value = node[key];
    if (key === 'resourceType') {
      if (!plan.resource) return false;
      continue;
    }
    const step = plan.keys.get(key);
    // Unknown keys, primitive extensions (`_given`), Medplum's emptiness test of objects with a `length`: not sure.
    if (!step || step.unsure || key === 'length') return false;
    if (step.choice) {
      if (choices?.includes(step.choice)) return false;
      (choices ??= []).push(step.choice);
    }
    if (step.isArray) {
      if (!Array.isArray(value) || value.length === 0 || value.length > step.max || value.length < step.min) return false;
      for (let i = 0; i < value.length; i++) if (!valueOk(value[i], step, w)) return false;
    } else {
      if (Array.isArray(value)) return false;
      if (!valueOk(value, step, w)) return false;
    }
  }
  if (!any) return false;
  for (const candidates of plan.required) {
    let present = false;
    for (const k of candidates) {
      if (node[k] !== undefined) {
        present = true;
        break;
      }
    }
    if (!present) return false;
  }
  return true;
}

/**
 * True only when full base validation would report no issue. The caller
 * has checked the resource's shape (an object of a known resourceType) and ids.
 */
export function surelyValid(resource: { resourceType: string }): boolean {
  const plan = planOf(resource.resourceType);
  if (!plan) return false;
  const root = toTypedValue(resource);
  const w: Walk = { root, resource: root };
  for (const c of plan.rootConstraints) if (!satisfied(c, 'exactly-true', root, w)) return false;
  return objectOk(resource as unknown as Record<string, unknown>, plan, w);
}

/** Builds every type's plan now (start-up). */
export function prepareSurelyValid(types: Iterable<string>): void {
  for (const type of types) planOf(type);
}
