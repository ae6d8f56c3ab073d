import type { Resource } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, test } from 'vitest';
import { corpusResources } from '../../test/support/corpus.ts';
import { nativeKeys } from './invariant-predicates.ts';
import { shadowNativePredicates, surelyValid } from './surely-valid.ts';
import { prepareValidation, validateBase, validateBaseFully } from './validate-base.ts';

type Json = Record<string, unknown>;

/** A small deterministic PRNG, so a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Every [holder, key] of the tree below `node` (array items included). */
function slots(node: unknown, out: [Json | unknown[], string | number][] = []): [Json | unknown[], string | number][] {
  if (Array.isArray(node)) {
    node.forEach((v, i) => {
      out.push([node, i]);
      slots(v, out);
    });
  } else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      out.push([node as Json, k]);
      slots(v, out);
    }
  }
  return out;
}

const replacements: unknown[] = ['', null, {}, [], 0, 1.5, -1, true, 'x  y', ' ', '2020-02-30', '2020-13-01T10:00:00Z', 'zzz-not-a-code', '#nowhere', 'Patient/', [null], [''], [{}]];

/** One random change to a copy of `resource`: a value replaced, removed, wrapped, doubled or given a strange sibling. */
function mutate(resource: Resource, next: () => number): Resource {
  const copy = structuredClone(resource) as unknown as Json;
  const all = slots(copy).filter(([holder, key]) => !(holder === copy && key === 'resourceType'));
  if (all.length === 0) return copy as unknown as Resource;
  const [holder, key] = all[Math.floor(next() * all.length)]!;
  const h = holder as Record<string | number, unknown>;
  const value = h[key];
  const op = Math.floor(next() * 10);
  if (op === 0 && !Array.isArray(holder)) delete h[key];
  else if (op === 1) h[key] = [value];
  else if (op === 2 && Array.isArray(value)) h[key] = value[0];
  else if (op === 3 && !Array.isArray(holder)) (holder as Json)[`_${String(key)}`] = { extension: [{ url: 'http://example.org/x', valueString: 'a' }] };
  else if (op === 4 && !Array.isArray(holder)) (holder as Json).valueString = 'both';
  else if (op === 5 && value !== null && typeof value === 'object' && !Array.isArray(value)) Object.assign(value, { extension: [{ url: 'http://example.org/x', valueString: 'a', valueBoolean: true }] });
  else if (op === 6 && value !== null && typeof value === 'object' && !Array.isArray(value)) Object.assign(value, { start: '2020-01-02', end: '2020-01-01', unknownKey: undefined });
  else if (op === 7 && !Array.isArray(holder)) (holder as Json).zzUnknown = 1;
  else if (op === 8) copy.contained = [{ resourceType: 'Patient', id: 'c1', meta: { versionId: '1' } }];
  else h[key] = structuredClone(replacements[Math.floor(next() * replacements.length)]);
  return copy as unknown as Resource;
}

const shadowed = new Map<string, number>();
const mismatches: string[] = [];

beforeAll(() => {
  prepareValidation();
  shadowNativePredicates((key, native, fhirPath) => {
    shadowed.set(key, (shadowed.get(key) ?? 0) + 1);
    if (native !== fhirPath && mismatches.length < 20) mismatches.push(`${key}: native ${native}, FHIRPath ${fhirPath}`);
  });
}, 60_000);

describe('surelyValid: the fast path of base validation', () => {
  test('on every resource of the HL7 examples and the Synthea corpora, the same issues as full validation (none where it is sure)', () => {
    let synthea = 0;
    let sure = 0;
    for (const name of ['r4-examples', 'synthea', 'synthea-corpus', 'mx'] as const) {
      for (const resource of corpusResources(name)) {
        const fast = validateBase(resource, resource.resourceType);
        if (surelyValid(resource)) {
          expect(validateBaseFully(resource, resource.resourceType), `${resource.resourceType}/${resource.id}`).toEqual([]);
          expect(fast).toEqual([]);
          if (name === 'synthea-corpus') sure++;
        } else {
          expect(fast).toEqual(validateBaseFully(resource, resource.resourceType));
        }
        if (name === 'synthea-corpus') synthea++;
      }
    }
    // The fast path is the common case on real data, or it would gain nothing.
    expect(synthea).toBeGreaterThan(15_000);
    expect(sure / synthea).toBeGreaterThan(0.95);
  }, 300_000);

  test('on random mutations of those resources, the same issues as full validation', () => {
    const next = random(21);
    const sample = [...corpusResources('r4-examples'), ...corpusResources('mx'), ...corpusResources('synthea-corpus').filter((_, i) => i % 7 === 0)].filter((r) => r.resourceType !== 'Bundle');
    let refused = 0;
    let tried = 0;
    for (const resource of sample) {
      for (let n = 0; n < 3; n++) {
        const mutated = mutate(resource, next);
        const full = validateBaseFully(mutated, mutated.resourceType);
        expect(validateBase(mutated, mutated.resourceType), JSON.stringify(mutated).slice(0, 400)).toEqual(full);
        tried++;
        if (full.length > 0) refused++;
      }
    }
    // Mutations that break something are the point: most of them must.
    expect(tried).toBeGreaterThan(5_000);
    expect(refused / tried).toBeGreaterThan(0.5);
  }, 300_000);

  test('each native invariant predicate gave the FHIRPath answer wherever it decided (corpus and mutations)', () => {
    expect(mismatches).toEqual([]);
    for (const key of ['dom-2', 'dom-4', 'dom-5', 'ext-1', 'ref-1', 'per-1', 'obs-6', 'obs-7']) {
      expect(shadowed.get(key) ?? 0, key).toBeGreaterThan(0);
    }
    expect(nativeKeys()).toEqual(expect.arrayContaining([...shadowed.keys()]));
  });

  test('violations the fast path must leave to full validation', () => {
    const cases: [string, Json][] = [
      ['ext-1: value and extension', { resourceType: 'Patient', extension: [{ url: 'http://example.org/a', valueString: 'x', extension: [{ url: 'b', valueString: 'y' }] }] }],
      ['ext-1: neither', { resourceType: 'Patient', extension: [{ url: 'http://example.org/a' }] }],
      ['per-1: end before start', { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, period: { start: '2020-02-01', end: '2020-01-01' } }],
      ['ref-1: no such contained', { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: '#p1' } }],
      ['obs-6: value and dataAbsentReason', { resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueString: 'a', dataAbsentReason: { text: 'b' } }],
      ['dom-4: contained with versionId', { resourceType: 'Observation', status: 'final', code: { text: 'x' }, contained: [{ resourceType: 'Patient', id: 'p', meta: { versionId: '1' } }], subject: { reference: '#p' } }],
      ['qty-3: code without system', { resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueQuantity: { value: 1, code: 'mg' } }],
      ['missing required element', { resourceType: 'Observation', code: { text: 'x' } }],
      ['required binding', { resourceType: 'Observation', status: 'done', code: { text: 'x' } }],
      ['array for a single value', { resourceType: 'Patient', gender: ['female'] }],
      ['two choices of one element', { resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueString: 'a', valueBoolean: true }],
      ['primitive extension', { resourceType: 'Patient', _gender: { extension: [{ url: 'http://example.org/a' }] } }],
      ['empty string', { resourceType: 'Patient', name: [{ family: '' }] }],
    ];
    for (const [what, resource] of cases) {
      expect(surelyValid(resource as unknown as Resource), what).toBe(false);
    }
    // And full validation refuses them, except two choices at once, which Medplum's validator only warns about.
    for (const [what, resource] of cases.filter(([what]) => what !== 'two choices of one element')) {
      expect(validateBase(resource, resource.resourceType as string).length, what).toBeGreaterThan(0);
    }
  });
});
