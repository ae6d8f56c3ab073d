/**
 * `_elements` of a bulk export (https://hl7.org/fhir/uv/bulkdata/export.html#query-parameters):
 * root elements, `Type.element` or `element` (then for every exported type
 * that has it). Each exported resource keeps only the listed elements, its
 * mandatory ones, `id` and `meta`, and is tagged SUBSETTED, as FHIR search's
 * `_elements` does (the same function). A type none of the entries names
 * keeps its mandatory elements only: "omit unlisted, non-mandatory elements".
 * Pure.
 */
import { isResourceType, topLevelElements } from '../fhir/definitions.ts';
import type { Message } from '../fhir/errors.ts';
import { subsetElements } from '../fhir/search-bundle.ts';

const always = new Set(['id', 'meta', 'resourceType']);

function isElementOf(type: string, name: string): boolean {
  if (always.has(name)) return true;
  const info = topLevelElements(type);
  return info.all.has(name) || info.choices.some((c) => name.startsWith(c) && /^[A-Z]/.test(name.slice(c.length)));
}

export interface ParsedElements {
  /** Entries honoured, as sent. */
  elements: string[];
  /** Entries that cannot be honoured, each with why (400 under handling=strict, else reported and left out). */
  rejected: { entry: string; message: Message }[];
}

export function parseElements(values: readonly string[], exportedTypes: readonly string[]): ParsedElements {
  const entries = [...new Set(values.flatMap((v) => v.split(',')).map((e) => e.trim()).filter((e) => e !== ''))];
  const out: ParsedElements = { elements: [], rejected: [] };
  for (const entry of entries) {
    const parts = entry.split('.');
    if (parts.length > 2 || parts.some((p) => p === '')) {
      out.rejected.push({ entry, message: { es: `_elements: "${entry}" no es un elemento raíz (Tipo.elemento o elemento)`, en: `_elements: "${entry}" is not a root element (Type.element or element)` } });
    } else if (parts.length === 2) {
      const [type = '', name = ''] = parts;
      if (!isResourceType(type) || !exportedTypes.includes(type)) {
        out.rejected.push({ entry, message: { es: `_elements: ${type} no es un tipo de esta exportación`, en: `_elements: ${type} is not a type of this export` } });
      } else if (!isElementOf(type, name)) {
        out.rejected.push({ entry, message: { es: `_elements: ${type} no tiene el elemento ${name}`, en: `_elements: ${type} has no element ${name}` } });
      } else {
        out.elements.push(entry);
      }
    } else if (!exportedTypes.some((t) => isElementOf(t, entry))) {
      out.rejected.push({ entry, message: { es: `_elements: ningún tipo de esta exportación tiene el elemento ${entry}`, en: `_elements: no type of this export has the element ${entry}` } });
    } else {
      out.elements.push(entry);
    }
  }
  return out;
}

/** The element names `elements` lists for `type`. */
export function elementsFor(elements: readonly string[], type: string): string[] {
  return elements.flatMap((e) => {
    const dot = e.indexOf('.');
    if (dot < 0) return isElementOf(type, e) ? [e] : [];
    return e.slice(0, dot) === type ? [e.slice(dot + 1)] : [];
  });
}

/** A per-type subsetter for the export's rows: stored JSON in, the subset out. */
export function elementSubsetter(elements: readonly string[]): (type: string, content: string) => string {
  const byType = new Map<string, string[]>();
  return (type, content) => {
    let names = byType.get(type);
    if (!names) byType.set(type, (names = elementsFor(elements, type)));
    return subsetElements(content, type, names);
  };
}
