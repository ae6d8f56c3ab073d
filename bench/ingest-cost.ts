/**
 * `node bench/ingest-cost.ts [rounds]`: the in-process CPU cost per resource
 * of what a bundle write does before the database, on the Synthea corpus
 * (test/fixtures/synthea-corpus: every resource of every bundle, as the HIV
 * ingest posts them), stage by stage: base R4 validation, profile validation
 * (declared, as the Synthea benches run), stamping, reference normalisation,
 * search index extraction and the index rows' JSON. Goal (issue 21): under
 * 150 µs per resource for validation plus index extraction.
 * Profile it with `node --cpu-prof --cpu-prof-dir=/tmp/prof bench/ingest-cost.ts`.
 */
import os from 'node:os';
import type { Resource } from '@medplum/fhirtypes';
import { loadDefinitions } from '../src/fhir/definitions.ts';
import { normalizeContentReferences } from '../src/fhir/normalize-reference.ts';
import { stamp } from '../src/fhir/versioning.ts';
import { extractIndexValues } from '../src/search/extract-index-values.ts';
import { prepareValidation, validateBase } from '../src/validation/validate-base.ts';
import { validateProfiles } from '../src/validation/validate-profiles.ts';
import { corpusFiles } from './synthea-replay.ts';

loadDefinitions();
prepareValidation();
const rounds = Number(process.argv[2] ?? 3);
const texts = corpusFiles().flatMap((f) => (f.bundle.entry ?? []).flatMap((e) => (e.resource ? [JSON.stringify(e.resource)] : [])));
const base = 'http://localhost/fhir';
const now = new Date();
const stages = { parse: 0, base: 0, profile: 0, stamp: 0, normalise: 0, extract: 0, indexJson: 0 };
const byType = new Map<string, { n: number; us: number }>();
const clock = () => performance.now() * 1000;
const load = os.loadavg()[0] ?? 0;
let total = 0;
for (let round = 0; round < rounds + 1; round++) {
  const measured = round > 0; // the first round warms up
  for (const text of texts) {
    let t0 = clock();
    const resource = JSON.parse(text) as Resource;
    let t1 = clock();
    if (measured) stages.parse += t1 - t0;
    const start = t0;
    t0 = t1;
    validateBase(resource, resource.resourceType);
    t1 = clock();
    if (measured) stages.base += t1 - t0;
    t0 = t1;
    await validateProfiles(resource, { enforcement: 'declared', resolve: async () => undefined });
    t1 = clock();
    if (measured) stages.profile += t1 - t0;
    t0 = t1;
    const stored = stamp(resource, 'x', 1, now);
    t1 = clock();
    if (measured) stages.stamp += t1 - t0;
    t0 = t1;
    const content = normalizeContentReferences(resource.resourceType, stored.content ?? '', [base]);
    t1 = clock();
    if (measured) stages.normalise += t1 - t0;
    t0 = t1;
    const rows = extractIndexValues(JSON.parse(content) as Resource);
    t1 = clock();
    if (measured) stages.extract += t1 - t0;
    t0 = t1;
    JSON.stringify(rows);
    t1 = clock();
    if (measured) {
      stages.indexJson += t1 - t0;
      total++;
      const entry = byType.get(resource.resourceType) ?? { n: 0, us: 0 };
      entry.n++;
      entry.us += t1 - start;
      byType.set(resource.resourceType, entry);
    }
  }
}
const per = (us: number) => Math.round((us / total) * 10) / 10;
console.log(`\nLoad average (1 min) at start ${load.toFixed(1)}, at end ${(os.loadavg()[0] ?? 0).toFixed(1)}; Node ${process.version}; ${texts.length} resources × ${rounds} rounds\n`);
console.log('| stage | µs per resource |\n|---|---|');
for (const [name, us] of Object.entries(stages)) console.log(`| ${name} | ${per(us)} |`);
console.log(`| **all** | **${per(Object.values(stages).reduce((a, b) => a + b, 0))}** |`);
console.log('\n| type | resources | µs each |\n|---|---|---|');
for (const [type, { n, us }] of [...byType].sort((a, b) => b[1].us - a[1].us).slice(0, 12)) console.log(`| ${type} | ${n / rounds} | ${Math.round(us / n)} |`);
