/**
 * Patient summaries (issue 8): loads the Synthea corpus, checks that the
 * $summary of every patient is a valid document Bundle whose references
 * resolve inside it, then measures $summary and $resumen-medico latency on the
 * patient with the largest record.
 *
 * Corpus: BENCH_SYNTHEA_DIR (default: the project's copy of the Synthea corpus,
 * test/fixtures/synthea-corpus). The HIV-module bundles use conditional
 * references (`Practitioner?identifier=…`); so that the summaries measured do
 * not depend on how they are resolved, the loader resolves them itself from the
 * hospital/practitioner information bundles, adding each referenced
 * Organization/Location/Practitioner as a PUT with an id derived from its
 * identifier, and rewriting the references.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { corpusFiles } from '../synthea-replay.ts';
import path from 'node:path';
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { validateBase } from '../../src/validation/validate-base.ts';
import type { Measure, Server } from '../harness.ts';
import { load } from '../harness.ts';
import type { BenchSettings } from './crud.ts';

export interface CorpusCheck {
  patients: number;
  valid: number;
  failures: string[];
  largest: { name: string; resources: number; documentEntries: number };
}

function bundleFiles(root: string): string[] {
  return readdirSync(root).flatMap((f) => {
    const full = path.join(root, f);
    return statSync(full).isDirectory() ? bundleFiles(full) : f.endsWith('.json') ? [full] : [];
  });
}

interface NamedBundle {
  name: string;
  bundle: Bundle;
}

const conditional = /^([A-Z][A-Za-z]+)\?identifier=(.+)$/;

/** `Type?identifier=system|value` → the directory resource carrying it, from the information bundles. */
function directoryIndex(files: readonly NamedBundle[]): Map<string, Resource> {
  const index = new Map<string, Resource>();
  for (const file of files.filter((f) => /(hospital|practitioner)Information/.test(f.name))) {
    for (const e of file.bundle.entry ?? []) {
      const r = e.resource as (Resource & { identifier?: { system?: string; value?: string }[] }) | undefined;
      for (const id of r?.identifier ?? []) index.set(`${r?.resourceType}?identifier=${id.system}|${id.value}`, r as Resource);
    }
  }
  return index;
}

const idFor = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 32);

/** The patient bundle with conditional references resolved by the loader (see the file comment). */
function resolveConditional(bundle: Bundle, index: Map<string, Resource>, added: Set<string>): Bundle {
  const extra: BundleEntry[] = [];
  const rewrite = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(rewrite);
    else if (node && typeof node === 'object') {
      const rec = node as Record<string, unknown>;
      for (const [k, v] of Object.entries(rec)) {
        if (k === 'reference' && typeof v === 'string' && conditional.test(v)) {
          const type = v.split('?')[0] ?? '';
          const id = idFor(v);
          rec.reference = `${type}/${id}`;
          const target = index.get(v);
          if (target && !added.has(v)) {
            added.add(v);
            const copy = { ...structuredClone(target), id };
            rewrite(copy);
            extra.push({ resource: copy, request: { method: 'PUT', url: `${type}/${id}` } });
          }
        } else if (typeof v === 'object') rewrite(v);
      }
    }
  };
  const copy = structuredClone(bundle);
  rewrite(copy.entry);
  return { ...copy, entry: [...extra, ...(copy.entry ?? [])] };
}

export async function loadCorpus(server: Server): Promise<{ name: string; patientId: string; resources: number }[]> {
  const dir = process.env.BENCH_SYNTHEA_DIR;
  const files: NamedBundle[] = dir
    ? bundleFiles(dir).map((file) => ({ name: path.basename(file, '.json'), bundle: JSON.parse(readFileSync(file, 'utf8')) as Bundle }))
    : corpusFiles().map((f) => ({ name: path.basename(f.name), bundle: f.bundle }));
  const index = directoryIndex(files);
  const added = new Set<string>();
  const out: { name: string; patientId: string; resources: number }[] = [];
  for (const file of files.filter((f) => !/Information/.test(f.name))) {
    const source = file.bundle;
    if (source.type !== 'transaction' || !source.entry?.some((e) => e.resource?.resourceType === 'Patient')) continue;
    const bundle = resolveConditional(source, index, added);
    const res = await fetch(`${server.url}/fhir`, { method: 'POST', headers: { 'content-type': 'application/fhir+json', ...server.auth }, body: JSON.stringify(bundle) });
    if (res.status !== 200) throw new Error(`${file.name}: ${res.status} ${(await res.text()).slice(0, 400)}`);
    const answer = (await res.json()) as Bundle;
    const at = bundle.entry?.findIndex((e) => e.resource?.resourceType === 'Patient') ?? -1;
    const patientId = /Patient\/([^/]+)/.exec(answer.entry?.[at]?.response?.location ?? '')?.[1] ?? '';
    out.push({ name: file.name, patientId, resources: source.entry?.length ?? 0 });
  }
  return out;
}

function unresolved(bundle: Bundle): string[] {
  const fullUrls = new Set(bundle.entry?.map((e) => e.fullUrl));
  const base = bundle.entry?.[0]?.fullUrl?.replace(/\/Composition\/[^/]+$/, '');
  const bad: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        if (k === 'reference' && typeof v === 'string' && !v.startsWith('#') && !fullUrls.has(`${base}/${v}`)) bad.push(v);
        else walk(v);
      }
    }
  };
  bundle.entry?.forEach((e) => walk(e.resource));
  return bad;
}

export async function checkCorpus(server: Server, patients: { name: string; patientId: string; resources: number }[]): Promise<CorpusCheck> {
  const failures: string[] = [];
  let valid = 0;
  const largest = [...patients].sort((a, b) => b.resources - a.resources)[0];
  let documentEntries = 0;
  for (const p of patients) {
    const res = await fetch(`${server.url}/fhir/Patient/${p.patientId}/$summary`, { headers: server.auth });
    const bundle = (await res.json()) as Bundle;
    const issues = res.status === 200 ? validateBase(bundle, 'Bundle').map((i) => i.details?.text ?? i.code) : [`HTTP ${res.status}`];
    const first = bundle.entry?.[0]?.resource?.resourceType === 'Composition' && bundle.type === 'document' ? [] : ['not a document with the Composition first'];
    const refs = unresolved(bundle).map((r) => `unresolved reference ${r}`);
    const problems = [...issues, ...first, ...refs];
    if (problems.length === 0) valid++;
    else failures.push(`${p.name}: ${problems.slice(0, 3).join('; ')}`);
    if (p === largest) documentEntries = bundle.entry?.length ?? 0;
  }
  console.log(`$summary corpus check: ${valid}/${patients.length} valid documents`);
  return { patients: patients.length, valid, failures, largest: { name: largest?.name ?? '', resources: largest?.resources ?? 0, documentEntries } };
}

export async function summaryScenarios(server: Server, s: BenchSettings, patientId: string): Promise<Measure[]> {
  const out: Measure[] = [];
  for (const connections of [1, s.connections]) {
    const common = { url: server.url, connections, durationSeconds: s.durationSeconds, rounds: s.rounds };
    out.push(await load({ ...common, name: `$summary, ${connections} conn.`, requests: [{ method: 'GET', path: `/fhir/Patient/${patientId}/$summary`, headers: server.auth }] }));
    out.push(await load({ ...common, name: `$resumen-medico, ${connections} conn.`, requests: [{ method: 'GET', path: `/fhir/Patient/${patientId}/$resumen-medico`, headers: server.auth }] }));
  }
  return out;
}
