/**
 * Real Synthea data at benchmark scale: the project's corpus (test/fixtures/
 * synthea-corpus, 40 patient bundles written by Synthea) replayed as many
 * times as needed. Replayed patient n gets ids `<uuid>-c<n>` for its bundle's
 * entries (hospitals and clinicians included: Synthea reuses their uuids
 * across bundles), its urn:uuid references rewritten to them, and `-c<n>`
 * appended to every identifier value, so replayed patients never match each
 * other's identifiers (nor the originals', which the HTTP ingest posts
 * unchanged). References Synthea leaves conditional (`Practitioner?identifier=…`)
 * stay as written.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { sql } from 'kysely';
import type { Db } from '../src/store/resource-store.ts';
import { bulkLoad } from './synthetic.ts';

const root = path.resolve(import.meta.dirname, '../test/fixtures/synthea-corpus');

export interface CorpusFile {
  name: string;
  /** The bundle as Synthea wrote it. */
  bundle: Bundle;
  /** Hospital and practitioner batches (conditional creates) that the HIV patients' references point at. */
  information: boolean;
}

let files: CorpusFile[] | undefined;

export function corpusFiles(): CorpusFile[] {
  if (!files) {
    files = [];
    for (const dir of readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
      for (const name of readdirSync(path.join(root, dir)).filter((f) => f.endsWith('.json.gz')).sort()) {
        const bundle = JSON.parse(gunzipSync(readFileSync(path.join(root, dir, name))).toString('utf8')) as Bundle;
        files.push({ name: `${dir}/${name.replace(/\.json\.gz$/, '')}`, bundle, information: !bundle.entry?.some((e) => e.resource?.resourceType === 'Patient') });
      }
    }
  }
  return files;
}

export function patientFiles(): CorpusFile[] {
  return corpusFiles().filter((f) => !f.information);
}

export interface ReplayedPatient {
  patientId: string;
  identifier: { system: string; value: string };
  family: string;
  resources: Resource[];
  /** Entries of the source bundle. */
  sourceEntries: number;
}

/** Patient n: patient bundle n mod 40, made distinct by the suffix `-c<n>`. */
export function replayedPatient(n: number): ReplayedPatient {
  const sources = patientFiles();
  const source = sources[n % sources.length]!.bundle;
  const copy = n;
  const ids = new Map<string, string>();
  for (const e of source.entry ?? []) {
    if (e.fullUrl && e.resource) ids.set(e.fullUrl, `${e.resource.resourceType}/${e.fullUrl.replace(/^urn:uuid:/, '')}-c${copy}`);
  }
  const text = JSON.stringify(source.entry?.map((e) => e.resource)).replace(/"(urn:uuid:[0-9a-f-]{36})"/g, (whole, urn: string) => {
    const local = ids.get(urn);
    return local ? JSON.stringify(local) : whole;
  });
  const resources = (JSON.parse(text) as Resource[]).map((r, i) => {
    const local = ids.get(source.entry?.[i]?.fullUrl ?? '') ?? '';
    const withId = { ...r, id: local.slice(local.indexOf('/') + 1) } as Resource & { identifier?: { value?: string }[] };
    for (const identifier of withId.identifier ?? []) if (identifier.value) identifier.value = `${identifier.value}-c${copy}`;
    return withId as Resource;
  });
  const patient = resources.find((r) => r.resourceType === 'Patient') as Resource & { id: string; identifier?: { system?: string; value?: string }[]; name?: { family?: string }[] };
  const identifier = patient.identifier?.find((i) => i.system && i.value);
  return {
    patientId: patient.id,
    identifier: { system: identifier?.system ?? '', value: identifier?.value ?? '' },
    family: patient.name?.[0]?.family ?? '',
    resources,
    sourceEntries: source.entry?.length ?? 0,
  };
}

export interface ReplayLoad {
  seconds: number;
  resources: number;
  /** Patient n of the replay at index n, without its resources. */
  patients: Omit<ReplayedPatient, 'resources'>[];
}

/** Bulk-loads replayed patients 0 … count-1 straight through the store and index code, then ANALYZE. */
export async function loadReplayed(db: Db, count: number, label: string): Promise<ReplayLoad> {
  const started = performance.now();
  const patients: Omit<ReplayedPatient, 'resources'>[] = [];
  let resources = 0;
  for (let start = 0; start < count; start += 20) {
    const batch = Array.from({ length: Math.min(20, count - start) }, (_, i) => replayedPatient(start + i));
    for (const { resources: written, ...patient } of batch) {
      patients.push(patient);
      resources += written.length;
    }
    await bulkLoad(db, batch.flatMap((p) => p.resources));
    if ((start / 20) % 10 === 0) console.log(`${label}: loaded ${Math.min(start + 20, count)} / ${count} patients`);
  }
  await sql`ANALYZE`.execute(db);
  return { seconds: Math.round((performance.now() - started) / 100) / 10, resources, patients };
}
