/**
 * The resources of the project's test corpora, bundles unpacked: the HL7 R4
 * examples (test/fixtures/r4-examples), the Synthea samples
 * (test/fixtures/synthea) and the Synthea corpus (test/fixtures/synthea-corpus,
 * gzipped bundles), and the MX examples (test/fixtures/mx). For tests that prove two implementations agree on real data.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Bundle, Resource } from '@medplum/fhirtypes';

const fixtures = path.resolve(import.meta.dirname, '../fixtures');

export type CorpusName = 'r4-examples' | 'synthea' | 'synthea-corpus' | 'mx';

function unpack(r: Resource | undefined, out: Resource[]): void {
  if (!r) return;
  out.push(r);
  if (r.resourceType === 'Bundle') for (const e of (r as Bundle).entry ?? []) unpack(e.resource, out);
}

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? files(path.join(dir, d.name)) : [path.join(dir, d.name)])).sort();
}

export function corpusResources(name: CorpusName): Resource[] {
  const out: Resource[] = [];
  for (const file of files(path.join(fixtures, name))) {
    if (file.endsWith('.json.gz')) unpack(JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as Resource, out);
    else if (file.endsWith('.json')) unpack(JSON.parse(readFileSync(file, 'utf8')) as Resource, out);
  }
  return out;
}
