/** Helpers for the patient summary tests: the ISSSTE fixtures under unique ids, and reading Parameters by path. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Bundle, Parameters, ParametersParameter, Resource } from '@medplum/fhirtypes';
import { expect } from 'vitest';
import { mxFixtureFiles } from '../fixtures/mx/index.ts';

const mxDir = path.resolve(import.meta.dirname, '../fixtures/mx');

/** The ISSSTE screenshot patient's fixtures plus the encounter and the second-level hospital, in write order. */
export const summaryFixtureFiles = ['organization-hospital.json', ...mxFixtureFiles.slice(0, 3), 'encounter.json', ...mxFixtureFiles.slice(3)];

/**
 * The fixtures with every id suffixed by `tag` (and references rewritten), so
 * tests sharing the database never collide. CLUES and CURP stay as on screen.
 */
export function taggedFixtures(tag: string): Resource[] {
  const resources = summaryFixtureFiles.map((f) => JSON.parse(readFileSync(path.join(mxDir, f), 'utf8')) as Resource);
  const ids = new Map(resources.map((r) => [`${r.resourceType}/${r.id}`, `${r.resourceType}/${r.id}-${tag}`]));
  const text = JSON.stringify(resources).replace(/"reference":"([^"]+)"/g, (m, ref: string) => (ids.has(ref) ? `"reference":"${ids.get(ref)}"` : m));
  return (JSON.parse(text) as Resource[]).map((r) => ({ ...r, id: `${r.id}-${tag}` }));
}

/** The parameter at a dotted path of names (`signosVitales.peso.valor`); the first match at each step. */
export function param(p: Parameters | ParametersParameter, dotted: string): ParametersParameter | undefined {
  let current: ParametersParameter | Parameters | undefined = p;
  for (const name of dotted.split('.')) {
    const list: ParametersParameter[] = (current && 'resourceType' in current ? current.parameter : current?.part) ?? [];
    current = list.find((x) => x.name === name);
  }
  return current as ParametersParameter | undefined;
}

/** Every parameter named `last` under the path of its parent. */
export function params(p: Parameters, dotted: string): ParametersParameter[] {
  const names = dotted.split('.');
  const last = names.pop() ?? '';
  const parent = names.length > 0 ? param(p, names.join('.')) : undefined;
  const list = (names.length > 0 ? parent?.part : p.parameter) ?? [];
  return list.filter((x) => x.name === last);
}

/** The data-absent-reason code of a missing value, if it is missing. */
export function absentReason(x: ParametersParameter | undefined): string | undefined {
  return x?.extension?.find((e) => e.url === 'http://hl7.org/fhir/StructureDefinition/data-absent-reason')?.valueCode;
}

/** Every reference in the document names an entry (relative to its fullUrl base) or is display-only. */
export function expectReferencesResolved(bundle: Bundle): void {
  const fullUrls = new Set(bundle.entry?.map((e) => e.fullUrl));
  const base = bundle.entry?.[0]?.fullUrl?.replace(/\/Composition\/[^/]+$/, '');
  const walk = (node: unknown, where: string): void => {
    if (Array.isArray(node)) node.forEach((n, i) => walk(n, `${where}[${i}]`));
    else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        if (k === 'reference' && typeof v === 'string' && !v.startsWith('#')) {
          expect(fullUrls.has(`${base}/${v}`) || fullUrls.has(v), `${where}: ${v}`).toBe(true);
        } else walk(v, `${where}.${k}`);
      }
    }
  };
  bundle.entry?.forEach((e, i) => walk(e.resource, `entry[${i}]`));
}
