/** Helpers for search tests: load fixtures with known ids under one unique tag, and read back the ids a search matched. */
import { expect } from 'vitest';
import type { TestApp } from './app.ts';
import { fhirJson } from './app.ts';

export interface Fixture {
  resourceType: string;
  id: string;
  [key: string]: unknown;
}

/** PUTs each fixture (ids prefixed with the tag, references rewritten) and tags it. */
export async function loadTagged(t: TestApp, tag: string, fixtures: Fixture[]): Promise<void> {
  for (const f of fixtures) {
    const json = JSON.stringify({ ...f, id: `${tag}-${f.id}` }).replaceAll('"Patient/', `"Patient/${tag}-`).replaceAll('"Practitioner/', `"Practitioner/${tag}-`).replaceAll('"Medication/', `"Medication/${tag}-`).replaceAll('"Observation/', `"Observation/${tag}-`);
    const body = JSON.parse(json) as Fixture & { meta?: { tag?: unknown[] } };
    body.meta = { ...body.meta, tag: [...(body.meta?.tag ?? []), { system: 'urn:test', code: tag }] };
    const res = await t.request({ method: 'PUT', url: `/fhir/${f.resourceType}/${body.id}`, headers: fhirJson, payload: body });
    expect(res.statusCode, `${f.resourceType}/${f.id}: ${res.body}`).toBeLessThan(300);
  }
}

export interface SearchBundle {
  total?: number;
  link: { relation: string; url: string }[];
  entry?: { fullUrl?: string; resource: { resourceType: string; id: string; [k: string]: unknown }; search: { mode: string } }[];
}

/** GET a search restricted to the tag; returns the bundle. */
export async function searchTagged(t: TestApp, tag: string, path: string, headers: Record<string, string> = {}): Promise<SearchBundle> {
  const sep = path.includes('?') ? '&' : '?';
  const res = await t.request({ method: 'GET', url: `/fhir/${path}${sep}_tag=urn:test|${tag}`, headers });
  expect(res.statusCode, `${path}: ${res.body}`).toBe(200);
  return res.json() as SearchBundle;
}

/** The ids (without the tag prefix) of the matches, sorted unless `ordered`. */
export function matchIds(bundle: SearchBundle, tag: string, ordered = false): string[] {
  const ids = (bundle.entry ?? []).filter((e) => e.search.mode === 'match').map((e) => e.resource.id.replace(`${tag}-`, ''));
  return ordered ? ids : ids.sort();
}
