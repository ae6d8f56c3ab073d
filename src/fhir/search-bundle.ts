/**
 * The searchset Bundle (https://hl7.org/fhir/R4/bundle.html, search.html#summary):
 * serialised around the stored JSON so matches are sent without being parsed,
 * except when _summary or _elements ask for a subset (then marked SUBSETTED).
 */
import type { Bundle, BundleLink, OperationOutcome } from '@medplum/fhirtypes';
import { topLevelElements } from './definitions.ts';
import type { SearchRequest } from '../search/search-request.ts';
import type { FoundRow } from './include.ts';
import { carryNumbers, parseJson, stringifyJson } from '../json/lossless.ts';

export interface SearchBundleParts {
  baseUrl: string;
  now: Date;
  total?: number;
  links: BundleLink[];
  matches: FoundRow[];
  included: FoundRow[];
  outcome?: OperationOutcome;
  summary?: SearchRequest['summary'];
  elements?: string[];
}

export function searchBundle(p: SearchBundleParts): string {
  const entry = (row: FoundRow, mode: 'match' | 'include') => {
    const resource = shape(row.content ?? '{}', row.resource_type, p.summary, p.elements);
    return `{"fullUrl":${JSON.stringify(`${p.baseUrl}/${row.resource_type}/${row.id}`)},"resource":${resource},"search":{"mode":"${mode}"}}`;
  };
  const entries = [...p.matches.map((r) => entry(r, 'match')), ...p.included.map((r) => entry(r, 'include'))];
  if (p.outcome) entries.push(`{"resource":${JSON.stringify(p.outcome)},"search":{"mode":"outcome"}}`);
  const head: Bundle = { resourceType: 'Bundle', type: 'searchset', meta: { lastUpdated: p.now.toISOString() } };
  if (p.total !== undefined) head.total = p.total;
  head.link = p.links;
  const json = JSON.stringify(head);
  return p.summary === 'count' ? json : `${json.slice(0, -1)},"entry":[${entries.join(',')}]}`;
}

/** Only `elements` (plus id, meta and the mandatory elements), tagged SUBSETTED: what `_elements` does (also for bulk export). */
export function subsetElements(content: string, type: string, elements: string[]): string {
  return shape(content, type, undefined, elements);
}

const subsetted = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' };

function shape(content: string, type: string, summary: SearchRequest['summary'], elements: string[] | undefined): string {
  if ((summary === undefined || summary === 'false') && elements === undefined) return content;
  const resource = parseJson(content) as Record<string, unknown>;
  const info = topLevelElements(type);
  const keep = (key: string): boolean => {
    if (key === 'resourceType' || key === 'id' || key === 'meta') return true;
    const base = baseName(key, info.choices);
    if (summary === 'true') return info.summary.has(base);
    if (summary === 'text') return key === 'text' || info.mandatory.has(base);
    if (summary === 'data') return key !== 'text';
    return elements !== undefined && (elements.includes(key) || elements.includes(base) || info.mandatory.has(base));
  };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(resource)) if (keep(k)) out[k] = v;
  const meta = (out.meta ?? {}) as { tag?: unknown[] };
  out.meta = { ...meta, tag: [...(Array.isArray(meta.tag) ? meta.tag : []), subsetted] };
  carryNumbers(resource, out);
  return stringifyJson(out);
}

/** The element a JSON key holds: `valueQuantity` is the choice element `value`. */
function baseName(key: string, choices: readonly string[]): string {
  return choices.find((c) => key.startsWith(c) && /^[A-Z]/.test(key.slice(c.length))) ?? key;
}
