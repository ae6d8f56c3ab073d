/**
 * Reference resolution inside transaction bundles
 * (https://hl7.org/fhir/R4/http.html#trules): entries identified by
 * `urn:uuid:`/`urn:oid:` (or absolute) fullUrls get their server ids first,
 * then every `reference` in every entry that names such a fullUrl is rewritten
 * to `Type/id`.
 */
import type { Bundle } from '@medplum/fhirtypes';
import { randomUUID } from 'node:crypto';
import { badRequest } from './errors.ts';

export interface PlannedEntry {
  index: number;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path relative to the FHIR base, without query. */
  path: string;
  query: string;
  /** Id chosen for a POST before it runs, so references to it can be rewritten. */
  assignedId?: string;
}

/** fullUrl → `Type/id` for the entries that will exist after the bundle. */
export function assignTargets(bundle: Bundle, planned: readonly PlannedEntry[]): Map<string, string> {
  const targets = new Map<string, string>();
  for (const entry of planned) {
    const source = bundle.entry?.[entry.index];
    const fullUrl = source?.fullUrl;
    const type = source?.resource?.resourceType ?? entry.path.split('/')[0];
    let target: string | undefined;
    if (entry.method === 'POST' && !entry.query) {
      entry.assignedId = randomUUID();
      target = `${type}/${entry.assignedId}`;
    } else if (entry.method === 'PUT' && !entry.query) {
      target = entry.path;
    }
    if (fullUrl) {
      if (targets.has(fullUrl)) {
        throw badRequest({ es: `fullUrl repetido en el Bundle: ${fullUrl}`, en: `Duplicate fullUrl in the Bundle: ${fullUrl}` }, `Bundle.entry[${entry.index}].fullUrl`);
      }
      if (target) targets.set(fullUrl, target);
    }
  }
  return targets;
}

/** Rewrites, in place, every reference that names a fullUrl of the bundle; returns the unresolved `urn:` ones. */
export function rewriteReferences(node: unknown, targets: ReadonlyMap<string, string>, unresolved: string[] = []): string[] {
  if (Array.isArray(node)) {
    for (const item of node) rewriteReferences(item, targets, unresolved);
  } else if (node !== null && typeof node === 'object') {
    const record = node as Record<string, unknown>;
    for (const [key, value] of Object.entries(record)) {
      if (key === 'reference' && typeof value === 'string') {
        const target = targets.get(value);
        if (target) record.reference = target;
        else if (value.startsWith('urn:uuid:') || value.startsWith('urn:oid:')) unresolved.push(value);
      } else if (typeof value === 'object') {
        rewriteReferences(value, targets, unresolved);
      }
    }
  }
  return unresolved;
}
