/**
 * Element-level rules that Medplum's validator leaves out, checked in one walk
 * of the properties present, following the R4 type definitions into data
 * types, backbone elements, extensions and contained/inline resources:
 * - ele-1 and the JSON rules (https://hl7.org/fhir/R4/json.html): no empty
 *   object, array or string anywhere;
 * - the invariants of each data type (per-1 on every Period, ref-1 on every
 *   Reference, …): Medplum checks an element's own constraints and the
 *   resource's, not those declared on the type the element has;
 * - Narrative.div (txt-1, txt-2) with an XML parser, see narrative-xhtml.ts;
 * - base64Binary per the R4 regex `(\s*([0-9a-zA-Z\+\/\=]){4}\s*)+`, where
 *   whitespace is allowed.
 * The plans (JSON key → what to check) and the FHIRPath of every invariant are
 * compiled once per type, all of them at start-up.
 */
import { getAllDataTypes, getDataType, isPrimitiveType, parseFhirPath, toTypedValue, type FhirPathAtom, type TypedValue } from '@medplum/core';
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { isResourceType } from '../fhir/definitions.ts';
import { issue } from '../fhir/errors.ts';
import { elementPlan } from './element-plan.ts';
import { narrativeProblems } from './narrative-xhtml.ts';

export interface Invariant {
  key: string;
  human: string;
  expression: string;
  atom: FhirPathAtom;
}

export type ElementRuleStep =
  | { kind: 'primitive'; type: string }
  | { kind: 'resource' }
  /** A complex value: `invariants` are its type's own, less those its element already declares (Medplum checks those). */
  | { kind: 'type'; type: string; invariants: readonly Invariant[] };

/**
 * Type invariants not evaluated here: ele-1 is the empty-value check below;
 * txt-1/txt-2 are `htmlChecks()`, done by narrative-xhtml.ts.
 */
const handledElsewhere = new Set(['ele-1', 'txt-1', 'txt-2']);

const plans = new Map<string, ReadonlyMap<string, ElementRuleStep>>();
const typeInvariants = new Map<string, readonly Invariant[]>();

function invariantsOf(type: string): readonly Invariant[] {
  let list = typeInvariants.get(type);
  if (!list) {
    let constraints: { key: string; severity: string; expression: string; description: string }[];
    try {
      constraints = getDataType(type).constraints ?? [];
    } catch {
      constraints = [];
    }
    list = constraints
      .filter((c) => c.severity === 'error' && !handledElsewhere.has(c.key) && c.expression)
      .map((c) => ({ key: c.key, human: c.description, expression: c.expression, atom: parseFhirPath(c.expression) }));
    typeInvariants.set(type, list);
  }
  return list;
}

/** What element-rules checks for each JSON key of `type` (also read by surely-valid.ts). */
export function elementRulesPlan(type: string): ReadonlyMap<string, ElementRuleStep> {
  return elementPlan<ElementRuleStep>(plans, type, (element, code) => {
    if (code === 'Resource') return { kind: 'resource' };
    if (isPrimitiveType(code) || code.startsWith('http://')) return { kind: 'primitive', type: code };
    const declared = new Set((element.constraints ?? []).map((c) => c.key));
    return { kind: 'type', type: code, invariants: invariantsOf(code).filter((i) => !declared.has(i.key)) };
  });
}

interface Walk {
  out: OperationOutcomeIssue[];
  root: TypedValue;
  resource: TypedValue;
}

const ucum = toTypedValue('http://unitsofmeasure.org');

function emptyIssue(path: string, what: { es: string; en: string }): OperationOutcomeIssue {
  return issue('value', { es: `ele-1: ${path} no puede ser ${what.es}: omita el elemento`, en: `ele-1: ${path} may not be ${what.en}: leave the element out` }, path);
}

/** Whether a value is empty per ele-1; reported (and not walked further) if so. */
function isEmpty(value: unknown, path: string, w: Walk): boolean {
  if (value === '') {
    w.out.push(emptyIssue(path, { es: 'una cadena vacía', en: 'an empty string' }));
    return true;
  }
  if (value !== null && typeof value === 'object') {
    if (Array.isArray(value)) {
      if (value.length === 0) {
        w.out.push(emptyIssue(path, { es: 'un arreglo vacío', en: 'an empty array' }));
        return true;
      }
    } else {
      // An object is empty when it has no key at all (a lone `id` is caught by Medplum's ele-1 on the element).
      let any = false;
      for (const _ in value) {
        any = true;
        break;
      }
      if (!any) {
        w.out.push(emptyIssue(path, { es: 'un objeto vacío', en: 'an empty object' }));
        return true;
      }
    }
  }
  return false;
}

/** R4 base64Binary: groups of four base64 characters, whitespace allowed between them. */
export function isBase64Binary(value: string): boolean {
  const compact = value.replace(/\s+/g, '');
  return compact.length > 0 && compact.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(compact);
}

function checkInvariants(value: object, type: string, invariants: readonly Invariant[], path: string, w: Walk): void {
  if (invariants.length === 0) return;
  const context: TypedValue = { type, value };
  const variables = { '%context': context, '%resource': w.resource, '%rootResource': w.root, '%ucum': ucum };
  for (const invariant of invariants) {
    // Only a false result breaks the rule: an empty one means the rule does not apply (ref-1 on a
    // Reference with only a display: `reference.startsWith('#')` is empty). An expression our FHIRPath
    // engine cannot run is no reason to refuse a resource; the start-up self-test lists none.
    let broken: boolean;
    try {
      const result = invariant.atom.eval({ variables }, [context]);
      broken = result.length === 1 && result[0]?.value === false;
    } catch {
      broken = false;
    }
    if (broken) {
      w.out.push(
        issue('invariant', { es: `No se cumple la regla ${invariant.key} en ${path}: ${invariant.human}`, en: `Constraint ${invariant.key} not met at ${path}: ${invariant.human}` }, path),
      );
    }
  }
}

function visit(value: unknown, step: ElementRuleStep, path: string, w: Walk): void {
  if (value === null || value === undefined || isEmpty(value, path, w)) return;
  if (step.kind === 'primitive') {
    if (step.type === 'base64Binary' && typeof value === 'string' && !isBase64Binary(value)) {
      w.out.push(issue('value', { es: `${path} no es base64 válido`, en: `${path} is not valid base64` }, path));
    } else if (step.type === 'xhtml' && typeof value === 'string') {
      for (const p of narrativeProblems(value)) {
        w.out.push(issue('invariant', { es: `No se cumple la regla ${p.key} en ${path}: ${p.es}`, en: `Constraint ${p.key} not met at ${path}: ${p.en}` }, path));
      }
    }
    return;
  }
  if (typeof value !== 'object' || Array.isArray(value)) return;
  if (step.kind === 'resource') {
    const type = (value as { resourceType?: unknown }).resourceType;
    if (typeof type !== 'string' || !isResourceType(type)) return;
    const inner: Walk = { ...w, resource: toTypedValue(value) };
    walkObject(value as Record<string, unknown>, type, path, inner);
    return;
  }
  checkInvariants(value, step.type, step.invariants, path, w);
  walkObject(value as Record<string, unknown>, step.type, path, w);
}

const elementStep: ElementRuleStep = { kind: 'type', type: 'Element', invariants: [] };

function walkObject(node: Record<string, unknown>, type: string, path: string, w: Walk): void {
  const plan = elementRulesPlan(type);
  for (const key in node) {
    const value = node[key];
    // `_given` and friends hold the extensions of primitives: Elements, null where a repetition has none.
    const step = plan.get(key) ?? (key.startsWith('_') && plan.has(key.slice(1)) ? elementStep : undefined);
    if (!step) continue;
    if (Array.isArray(value)) {
      if (isEmpty(value, `${path}.${key}`, w)) continue;
      for (let i = 0; i < value.length; i++) visit(value[i], step, `${path}.${key}[${i}]`, w);
    } else {
      visit(value, step, `${path}.${key}`, w);
    }
  }
}

/** One issue per empty element, broken data-type invariant, invalid narrative or base64Binary. */
export function checkElementRules(resource: { resourceType: string }): OperationOutcomeIssue[] {
  const root = toTypedValue(resource);
  const w: Walk = { out: [], root, resource: root };
  walkObject(resource as unknown as Record<string, unknown>, resource.resourceType, resource.resourceType, w);
  return w.out;
}

/** Compiles every type's plan and invariants now (start-up), so the first write pays nothing and a bad expression shows at once. */
export function prepareElementRules(): void {
  for (const type of Object.keys(getAllDataTypes())) elementRulesPlan(type);
}
