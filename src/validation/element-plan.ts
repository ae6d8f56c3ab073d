/**
 * Per data type, what to do with each JSON key an instance of it can carry:
 * the walk element-rules.ts and required-bindings.ts both start from. A
 * choice element `value[x]` becomes one key per type (`valueQuantity`, …).
 * Plans are built once per type and cached by the caller; a type the R4
 * definitions do not know gets an empty plan.
 */
import { getDataType, type InternalSchemaElement } from '@medplum/core';

export function elementPlan<S>(
  cache: Map<string, ReadonlyMap<string, S>>,
  type: string,
  stepFor: (element: InternalSchemaElement, typeCode: string) => S | undefined,
): ReadonlyMap<string, S> {
  const cached = cache.get(type);
  if (cached) return cached;
  const plan = new Map<string, S>();
  cache.set(type, plan);
  let schema;
  try {
    schema = getDataType(type);
  } catch {
    return plan;
  }
  for (const [name, element] of Object.entries(schema.elements)) {
    const choice = name.endsWith('[x]');
    for (const t of element.type ?? []) {
      const step = stepFor(element, t.code);
      if (step) plan.set(choice ? name.slice(0, -3) + t.code.charAt(0).toUpperCase() + t.code.slice(1) : name, step);
    }
  }
  return plan;
}
