/**
 * Exact JavaScript forms of the invariants evaluated most often on real data
 * (every Extension's ext-1, every Reference's ref-1, every resource's dom-*),
 * for the fast path of validation (surely-valid.ts). Each answers true (the
 * invariant holds), false (it is broken) or undefined (a case it does not
 * decide: the FHIRPath is evaluated instead), and applies only while the
 * definitions carry the very expression it was written for. The answers
 * are checked against the FHIRPath engine over the Synthea and HL7 corpora
 * (invariant-predicates.test.ts).
 */
import { getDataType } from '@medplum/core';

export type NativePredicate = (value: unknown, resource: unknown, root: unknown) => boolean | undefined;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A key is absent and so is its primitive extension: the FHIRPath element is empty. */
function absent(node: Json, key: string): boolean {
  return node[key] === undefined && node[`_${key}`] === undefined;
}

/** No `contained`: every `contained.…` path is empty. */
const noContained: NativePredicate = (value) => (isObject(value) && absent(value, 'contained') ? true : undefined);

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
  return hasExtension !== hasValue;
};

/** ref-1: a reference that does not start with `#` satisfies it (`startsWith('#').not()` is true). */
const ref1: NativePredicate = (value) => {
  if (!isObject(value)) return undefined;
  const ref = value.reference;
  return typeof ref === 'string' && ref.length > 0 && !ref.startsWith('#') && value._reference === undefined ? true : undefined;
};

/** per-1: holds when start or end is missing (its `hasValue()` is false); comparing dates is left to FHIRPath. */
const per1: NativePredicate = (value) => (isObject(value) && (absent(value, 'start') || absent(value, 'end')) ? true : undefined);

/** qty-3 `code.empty() or system.exists()`. */
const qty3: NativePredicate = (value) => {
  if (!isObject(value)) return undefined;
  if (absent(value, 'code')) return true;
  return typeof value.system === 'string' && value.system.length > 0 ? true : undefined;
};

/** Keys FHIRPath reads as the choice element `value` (valueQuantity, _valueString …). */
function hasChoice(node: Json, name: string): boolean | undefined {
  for (const key in node) {
    const bare = key.startsWith('_') ? key.slice(1) : key;
    if (bare.length > name.length && bare.startsWith(name) && bare.charCodeAt(name.length) >= 65 && bare.charCodeAt(name.length) <= 90) return true;
  }
  return false;
}

/** obs-6 `dataAbsentReason.empty() or value.empty()`. */
const obs6: NativePredicate = (value) => (isObject(value) && (absent(value, 'dataAbsentReason') || hasChoice(value, 'value') === false) ? true : undefined);

/** obs-7 `value.empty() or component.code.where(…).empty()`: holds when either side is empty for want of the element. */
const obs7: NativePredicate = (value) => (isObject(value) && (absent(value, 'component') || hasChoice(value, 'value') === false) ? true : undefined);

const predicates: Record<string, { expression: string; test: NativePredicate }> = {
  'dom-2': { expression: 'contained.contained.empty()', test: noContained },
  'dom-4': { expression: 'contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()', test: noContained },
  'dom-5': { expression: 'contained.meta.security.empty()', test: noContained },
  'ext-1': { expression: 'extension.exists() != value.exists()', test: ext1 },
  'ref-1': { expression: "reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))", test: ref1 },
  'per-1': { expression: 'start.hasValue().not() or end.hasValue().not() or (start <= end)', test: per1 },
  'qty-3': { expression: 'code.empty() or system.exists()', test: qty3 },
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
