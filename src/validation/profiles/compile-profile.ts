/**
 * Compiles a StructureDefinition snapshot once into a tree the checker walks:
 * per element its cardinality, fixed/pattern value, required binding,
 * invariants (FHIRPath parsed once) and slicing. Medplum's validator can take
 * a profile too, but it re-parses the snapshot on every call (~2.5 ms for
 * MX Patient); compiled and cached here, a profile check costs a few µs.
 * https://hl7.org/fhir/R4/profiling.html, https://hl7.org/fhir/R4/elementdefinition.html
 */
import { parseFhirPath, type FhirPathAtom } from '@medplum/core';
import type { ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';
import { bindingCodes, structureDefinition } from './registry.ts';

export interface Invariant {
  key: string;
  human: string;
  expression: string;
  atom: FhirPathAtom;
}

export interface Discriminator {
  type: string;
  path: string[];
}

export interface ProfileNode {
  /** Element id, e.g. `Patient.identifier:curp.system`. */
  id: string;
  /** JSON key (for a choice `value[x]`, the stem `value`). */
  key: string;
  choice: boolean;
  sliceName?: string;
  short?: string;
  types: string[];
  min: number;
  max: number;
  fixed?: unknown;
  pattern?: unknown;
  invariants: Invariant[];
  binding?: { valueSet: string; codes: ReadonlySet<string> };
  children: ProfileNode[];
  slicing?: { discriminators: Discriminator[]; slices: ProfileNode[] };
  /** For an extension slice: the extension's own profile. */
  extensionProfile?: CompiledProfile;
}

export interface CompiledProfile {
  url: string;
  name: string;
  title: string;
  type: string;
  root: ProfileNode;
}

const compiled = new Map<string, CompiledProfile>();

/** Type names the core StructureDefinitions use as `constraint.source`: their invariants are base validation's job. */
const coreSource = /^http:\/\/hl7\.org\/fhir\/StructureDefinition\/[A-Z][A-Za-z]*$/;
const coreProfiles = new Set(['vitalsigns', 'bodyweight', 'bodyheight', 'bmi', 'bodytemp', 'heartrate', 'resprate', 'oxygensat', 'bp'].map((p) => `http://hl7.org/fhir/StructureDefinition/${p}`));

function valueOf(element: ElementDefinition, prefix: 'fixed' | 'pattern'): unknown {
  for (const [k, v] of Object.entries(element)) {
    if (k.startsWith(prefix) && k.length > prefix.length && /[A-Z]/.test(k.charAt(prefix.length))) {
      return v;
    }
  }
  return undefined;
}

function invariantsOf(element: ElementDefinition): Invariant[] {
  return (element.constraint ?? [])
    .filter((c) => c.severity === 'error' && c.expression && (!c.source || !coreSource.test(c.source) || coreProfiles.has(c.source)))
    .map((c) => ({ key: c.key ?? '', human: c.human ?? '', expression: c.expression ?? '', atom: parseFhirPath(c.expression ?? '') }));
}

function toNode(element: ElementDefinition): ProfileNode {
  const id = element.id ?? element.path ?? '';
  const last = (element.path ?? '').split('.').pop() ?? '';
  const choice = last.endsWith('[x]');
  const node: ProfileNode = {
    id,
    key: choice ? last.slice(0, -3) : last,
    choice,
    sliceName: element.sliceName,
    short: element.short,
    types: (element.type ?? []).map((t) => t.code ?? ''),
    min: element.min ?? 0,
    max: element.max === '*' || element.max === undefined ? Number.POSITIVE_INFINITY : Number(element.max),
    fixed: valueOf(element, 'fixed'),
    pattern: valueOf(element, 'pattern'),
    invariants: invariantsOf(element),
    children: [],
  };
  const binding = element.binding;
  if (binding?.strength === 'required' && binding.valueSet && node.types.some((t) => t === 'Coding' || t === 'CodeableConcept' || t === 'Quantity' || t === 'code')) {
    const codes = bindingCodes(binding.valueSet);
    if (codes) {
      node.binding = { valueSet: binding.valueSet.split('|')[0] ?? binding.valueSet, codes };
    }
  }
  if (element.slicing) {
    node.slicing = { discriminators: (element.slicing.discriminator ?? []).map((d) => ({ type: d.type ?? 'value', path: (d.path ?? '').split('.') })), slices: [] };
  }
  const extensionUrl = node.types[0] === 'Extension' ? element.type?.[0]?.profile?.[0] : undefined;
  if (extensionUrl && element.sliceName) {
    node.extensionProfile = compileProfile(extensionUrl);
  }
  return node;
}

/** Parent id of an element id: `A.b:s.c` → `A.b:s`; a slice `A.b:s` hangs under `A.b`. */
function parentOf(id: string): { parent: string; isSlice: boolean } {
  const dot = id.lastIndexOf('.');
  const last = id.slice(dot + 1);
  if (last.includes(':')) {
    return { parent: id.slice(0, dot + 1) + last.slice(0, last.indexOf(':')), isSlice: true };
  }
  return { parent: id.slice(0, dot), isSlice: false };
}

function compile(sd: StructureDefinition): CompiledProfile {
  const elements = sd.snapshot?.element ?? [];
  const byId = new Map<string, ProfileNode>();
  let root: ProfileNode | undefined;
  for (const element of elements) {
    const node = toNode(element);
    byId.set(node.id, node);
    if (!root) {
      root = node;
      continue;
    }
    const { parent, isSlice } = parentOf(node.id);
    const owner = byId.get(parent);
    if (!owner) {
      continue;
    }
    if (isSlice) {
      (owner.slicing ??= { discriminators: [], slices: [] }).slices.push(node);
    } else {
      owner.children.push(node);
    }
  }
  if (!root) {
    throw new Error(`StructureDefinition ${sd.url} has no snapshot`);
  }
  return { url: sd.url ?? '', name: sd.name ?? '', title: sd.title ?? sd.name ?? '', type: sd.type ?? '', root };
}

/** The compiled form of one of our profiles (cached); undefined for a URL we do not publish. */
export function compileProfile(url: string): CompiledProfile | undefined {
  const key = url.split('|')[0] ?? url;
  const cached = compiled.get(key);
  if (cached) {
    return cached;
  }
  const sd = structureDefinition(key);
  if (!sd) {
    return undefined;
  }
  const result = compile(sd);
  compiled.set(key, result);
  return result;
}
