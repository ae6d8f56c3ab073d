/**
 * Exact JavaScript forms of the invariants evaluated most often on real data
 * (every Extension's ext-1, every Reference's ref-1, every resource's dom-*),
 * for the fast path of validation (surely-valid.ts). Each gives what the
 * FHIRPath would (true, false or the empty collection) or undefined for a case
 * it does not decide (the FHIRPath is then evaluated), and applies only while
 * the definitions carry the very expression it was written for. Every answer
 * is checked against the FHIRPath engine over the Synthea and HL7 corpora and
 * their mutations (surely-valid.test.ts).
 */
import { getDataType } from '@medplum/core';

/** What an invariant's FHIRPath gives: true, false or the empty collection. */
export type FhirPathResult = 'true' | 'false' | 'empty';

/** The FHIRPath result for `value` (the element the invariant is on), or undefined when the predicate does not decide. */
export type NativePredicate = (value: unknown, resource: unknown, root: unknown) => FhirPathResult | undefined;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A key is absent and so is its primitive extension: the FHIRPath element is empty. */
function absent(node: Json, key: string): boolean {
  return node[key] === undefined && node[`_${key}`] === undefined;
}

/** A plain string FHIRPath sees as one value (non-empty, no primitive extension beside it). */
function plainString(node: Json, key: string): string | undefined {
  const v = node[key];
  return typeof v === 'string' && v.length > 0 && node[`_${key}`] === undefined ? v : undefined;
}

/** The contained resources when each is an object (undefined otherwise, or when `_contained` muddles it). */
function containedOf(value: unknown): Json[] | undefined {
  if (!isObject(value) || value._contained !== undefined) return undefined;
  const contained = value.contained;
  if (contained === undefined) return [];
  return Array.isArray(contained) && contained.every(isObject) ? contained : undefined;
}

/** dom-2 `contained.contained.empty()`. */
const dom2: NativePredicate = (value) => {
  const contained = containedOf(value);
  return contained?.every((c) => absent(c, 'contained')) ? 'true' : undefined;
};

/** dom-4 `contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()`. */
const dom4: NativePredicate = (value) => {
  const contained = containedOf(value);
  return contained?.every((c) => absent(c, 'meta') || (isObject(c.meta) && absent(c.meta, 'versionId') && absent(c.meta, 'lastUpdated'))) ? 'true' : undefined;
};

/** dom-5 `contained.meta.security.empty()`. */
const dom5: NativePredicate = (value) => {
  const contained = containedOf(value);
  return contained?.every((c) => absent(c, 'meta') || (isObject(c.meta) && absent(c.meta, 'security'))) ? 'true' : undefined;
};

let extensionValueKeys: ReadonlySet<string> | undefined;

/** The JSON keys of Extension.value[x] (valueString, valueCodeableConcept, …). */
function valueKeys(): ReadonlySet<string> {
  if (!extensionValueKeys) {
    const element = getDataType('Extension').elements['value[x]'];
    extensionValueKeys = new Set((element?.type ?? []).map((t) => `value${t.code.charAt(0).toUpperCase()}${t.code.slice(1)}`));
  }
  return extensionValueKeys;
}

/** A value FHIRPath sees as present for sure: not null, not an empty string, array or object. */
function populated(v: unknown): boolean {
  if (v === null || v === undefined || v === '') return false;
  if (Array.isArray(v)) return false;
  if (typeof v === 'object') {
    for (const _ in v) return true;
    return false;
  }
  return true;
}

/** ext-1 `extension.exists() != value.exists()`: decided when every key is plain (no `_` extensions, no odd values). */
const ext1: NativePredicate = (value) => {
  if (!isObject(value)) return undefined;
  let hasExtension = false;
  let hasValue = false;
  const keys = valueKeys();
  for (const key in value) {
    const v = value[key];
    if (key === 'extension') {
      if (!Array.isArray(v) || v.length === 0 || !v.every(populated)) return undefined;
      hasExtension = true;
    } else if (keys.has(key)) {
      if (hasValue || !populated(v)) return undefined;
      hasValue = true;
    } else if (key !== 'url' && key !== 'id') {
      return undefined;
    }
  }
  return hasExtension !== hasValue ? 'true' : 'false';
};

/**
 * ref-1 `reference.startsWith('#').not() or (…contained.id)`: true for a
 * reference not starting with `#`; empty without a reference (every operand
 * is empty); a local reference is left to FHIRPath.
 */
const ref1: NativePredicate = (value) => {
  if (!isObject(value)) return undefined;
  if (absent(value, 'reference')) return 'empty';
  const ref = plainString(value, 'reference');
  return ref !== undefined && !ref.startsWith('#') ? 'true' : undefined;
};

/** per-1 `start.hasValue().not() or end.hasValue().not() or (start <= end)`: the engine compares the two strings. */
const per1: NativePredicate = (value) => {
  if (!isObject(value)) return undefined;
  if (absent(value, 'start') || absent(value, 'end')) return 'true';
  const start = plainString(value, 'start');
  const end = plainString(value, 'end');
  if (start === undefined || end === undefined) return undefined;
  return start <= end ? 'true' : 'false';
};

/** qty-3 `code.empty() or system.exists()`. */
const qty3: NativePredicate = (value) => {
  if (!isObject(value)) return undefined;
  if (absent(value, 'code')) return 'true';
  return plainString(value, 'system') !== undefined ? 'true' : undefined;
};

/** att-1 `data.empty() or contentType.exists()`. */
const att1: NativePredicate = (value) => {
  if (!isObject(value)) return undefined;
  if (absent(value, 'data')) return 'true';
  return plainString(value, 'contentType') !== undefined ? 'true' : undefined;
};

/** Whether any key FHIRPath reads as the choice element `name` (valueQuantity, _valueString …) is there. */
function hasChoice(node: Json, name: string): boolean {
  for (const key in node) {
    const bare = key.startsWith('_') ? key.slice(1) : key;
    if (bare.length > name.length && bare.startsWith(name) && bare.charCodeAt(name.length) >= 65 && bare.charCodeAt(name.length) <= 90) return true;
  }
  return false;
}

/** obs-6 `dataAbsentReason.empty() or value.empty()`. */
const obs6: NativePredicate = (value) => (isObject(value) && (absent(value, 'dataAbsentReason') || !hasChoice(value, 'value')) ? 'true' : undefined);

/** obs-7 `value.empty() or component.code.where(…).empty()`: true when either side is empty for want of the element. */
const obs7: NativePredicate = (value) => (isObject(value) && (absent(value, 'component') || !hasChoice(value, 'value')) ? 'true' : undefined);

const predicates: Record<string, { expression: string; test: NativePredicate }> = {
  'dom-2': { expression: 'contained.contained.empty()', test: dom2 },
  'dom-4': { expression: 'contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()', test: dom4 },
  'dom-5': { expression: 'contained.meta.security.empty()', test: dom5 },
  'ext-1': { expression: 'extension.exists() != value.exists()', test: ext1 },
  'ref-1': { expression: "reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))", test: ref1 },
  'per-1': { expression: 'start.hasValue().not() or end.hasValue().not() or (start <= end)', test: per1 },
  'qty-3': { expression: 'code.empty() or system.exists()', test: qty3 },
  'att-1': { expression: 'data.empty() or contentType.exists()', test: att1 },
  'obs-6': { expression: 'dataAbsentReason.empty() or value.empty()', test: obs6 },
  'obs-7': { expression: 'value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()', test: obs7 },
};

/** The native form of invariant `key`, if it has one for this exact expression. */
export function nativePredicate(key: string, expression: string): NativePredicate | undefined {
  const p = predicates[key];
  return p && p.expression === expression ? p.test : undefined;
}

/** Every invariant with a native form (for the equivalence test). */
export function nativeKeys(): string[] {
  return Object.keys(predicates);
}
