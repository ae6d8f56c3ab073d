/**
 * Checks a resource that already passed base R4 validation against one
 * compiled profile: cardinality, fixed and pattern values, slicing (value and
 * pattern discriminators, slice cardinality), required bindings to value sets
 * we can expand, and the profile's own FHIRPath invariants. One bilingual
 * issue per problem, with the concrete element path.
 * https://hl7.org/fhir/R4/profiling.html#slicing
 */
import { deepEquals, deepIncludes, evalFhirPathTyped, toTypedValue, type TypedValue } from '@medplum/core';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { issue } from '../../fhir/errors.ts';
import type { CompiledProfile, ProfileNode } from './compile-profile.ts';
import { inBinding } from './registry.ts';

interface Located {
  value: unknown;
  path: string;
  type: string;
}

interface Run {
  profile: CompiledProfile;
  resource: Resource;
  out: OperationOutcomeIssue[];
}

const ucum = toTypedValue('http://unitsofmeasure.org');

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The values of `child` inside `parent`, choice types resolved to their concrete key. */
function childValues(parent: Located, child: ProfileNode): Located[] {
  const obj = parent.value as Record<string, unknown>;
  const keys = child.choice ? child.types.map((t) => child.key + capitalize(t)).filter((k) => k in obj) : child.key in obj ? [child.key] : [];
  const out: Located[] = [];
  for (const key of keys) {
    const type = child.choice ? key.slice(child.key.length) : (child.types[0] ?? 'Element');
    const raw = obj[key];
    if (Array.isArray(raw)) {
      raw.forEach((value, i) => out.push({ value, path: `${parent.path}.${key}[${i}]`, type }));
    } else if (raw !== undefined) {
      out.push({ value: raw, path: `${parent.path}.${key}`, type: child.choice ? lowerIfPrimitive(type) : type });
    }
  }
  return out;
}

function lowerIfPrimitive(type: string): string {
  return ['String', 'Boolean', 'Integer', 'Decimal', 'DateTime', 'Date', 'Time', 'Instant', 'Uri', 'Code'].includes(type) ? type.charAt(0).toLowerCase() + type.slice(1) : type;
}

/** Candidate values a slice fixes at a discriminator path (looking through nested slices, e.g. component.code.coding:SBPCode.code). */
function discriminatorValues(node: ProfileNode, path: string[]): unknown[] {
  if (path.length === 0) {
    const v = node.fixed ?? node.pattern;
    if (v !== undefined) {
      return [v];
    }
    return node.extensionProfile ? [node.extensionProfile.url] : [];
  }
  const [head, ...rest] = path;
  if (head === 'url' && node.extensionProfile && rest.length === 0) {
    return [node.extensionProfile.url];
  }
  const candidates = node.children.filter((c) => c.key === head);
  const found = candidates.flatMap((c) => [...discriminatorValues(c, rest), ...(c.slicing?.slices ?? []).flatMap((s) => discriminatorValues(s, rest))]);
  return found;
}

function valuesAt(value: unknown, path: string[]): unknown[] {
  let current: unknown[] = [value];
  for (const key of path) {
    current = current.flatMap((v) => (isObject(v) ? [v[key]].flat().filter((x) => x !== undefined) : []));
  }
  return current;
}

function matchesSlice(value: unknown, slice: ProfileNode, discriminators: { type: string; path: string[] }[]): boolean {
  return discriminators.every((d) => {
    const path = d.path.length === 1 && d.path[0] === '$this' ? [] : d.path;
    const expected = discriminatorValues(slice, path);
    if (expected.length === 0) {
      return true;
    }
    const actual = valuesAt(value, path);
    return actual.some((a) => expected.some((e) => (d.type === 'pattern' ? deepIncludes(a, e) : deepEquals(a, e) || deepIncludes(a, e))));
  });
}

function label(run: Run): string {
  return `${run.profile.title} (${run.profile.url})`;
}

function checkCardinality(run: Run, node: ProfileNode, count: number, path: string, what: string): void {
  if (count < node.min) {
    run.out.push(
      issue(
        'required',
        { es: `Falta ${what} en ${path}: el perfil ${label(run)} exige al menos ${node.min}${node.short ? ` (${node.short})` : ''}`, en: `Missing ${what} at ${path}: profile ${label(run)} requires at least ${node.min}` },
        path,
      ),
    );
  } else if (count > node.max) {
    run.out.push(
      issue('structure', { es: `Demasiados valores de ${what} en ${path}: el perfil ${label(run)} admite ${node.max}, hay ${count}`, en: `Too many ${what} values at ${path}: profile ${label(run)} allows ${node.max}, found ${count}` }, path),
    );
  }
}

function checkBinding(run: Run, node: ProfileNode, item: Located): void {
  const binding = node.binding;
  if (!binding) {
    return;
  }
  const v = item.value;
  let codings: { system?: string; code?: string }[] = [];
  if (typeof v === 'string') {
    codings = [{ code: v }];
  } else if (isObject(v)) {
    if (item.type === 'CodeableConcept') {
      codings = Array.isArray(v.coding) ? (v.coding as { system?: string; code?: string }[]) : [];
    } else if (item.type === 'Quantity') {
      codings = v.code === undefined ? [] : [{ system: v.system as string | undefined, code: v.code as string }];
    } else {
      codings = [v as { system?: string; code?: string }];
    }
  }
  if (codings.some((c) => inBinding(binding.codes, c.system, c.code))) {
    return;
  }
  const sent = codings.map((c) => `${c.system ?? ''}|${c.code ?? ''}`).join(', ') || 'ningún código / no code';
  run.out.push(
    issue(
      'code-invalid',
      { es: `${item.path} debe llevar un código del conjunto ${binding.valueSet} (enlace requerido del perfil ${run.profile.title}); llegó ${sent}`, en: `${item.path} must carry a code from ${binding.valueSet} (required binding of profile ${run.profile.title}); got ${sent}` },
      item.path,
    ),
  );
}

function checkInvariants(run: Run, node: ProfileNode, item: Located): void {
  if (node.invariants.length === 0) {
    return;
  }
  const typed: TypedValue = { type: item.type, value: item.value };
  const variables: Record<string, TypedValue> = { '%context': typed, '%resource': toTypedValue(run.resource), '%rootResource': toTypedValue(run.resource), '%ucum': ucum };
  for (const inv of node.invariants) {
    let ok = false;
    try {
      const result = evalFhirPathTyped(inv.atom, [typed], variables);
      ok = result.length === 1 && result[0]?.value === true;
    } catch {
      ok = false;
    }
    if (!ok) {
      const [es, en] = inv.human.includes(' / ') ? inv.human.split(' / ') : [inv.human, inv.human];
      run.out.push(issue('invariant', { es: `No se cumple la regla ${inv.key} en ${item.path}: ${es}`, en: `Rule ${inv.key} not met at ${item.path}: ${en}` }, item.path));
    }
  }
}

function checkValue(run: Run, node: ProfileNode, item: Located): void {
  if (node.fixed !== undefined && !deepEquals(item.value, node.fixed)) {
    run.out.push(
      issue('value', { es: `${item.path} debe ser ${JSON.stringify(node.fixed)} según el perfil ${run.profile.title}; llegó ${JSON.stringify(item.value)}`, en: `${item.path} must be ${JSON.stringify(node.fixed)} per profile ${run.profile.title}; got ${JSON.stringify(item.value)}` }, item.path),
    );
  }
  if (node.pattern !== undefined && !deepIncludes(item.value, node.pattern)) {
    run.out.push(
      issue('value', { es: `${item.path} debe coincidir con ${JSON.stringify(node.pattern)} según el perfil ${run.profile.title}`, en: `${item.path} must match ${JSON.stringify(node.pattern)} per profile ${run.profile.title}` }, item.path),
    );
  }
  checkBinding(run, node, item);
  checkInvariants(run, node, item);
  if (isObject(item.value)) {
    checkChildren(run, node, item);
  }
}

function checkChildren(run: Run, node: ProfileNode, parent: Located): void {
  for (const child of node.children) {
    const values = childValues(parent, child);
    checkCardinality(run, child, values.length, `${parent.path}.${child.key}${child.choice ? '[x]' : ''}`, child.key);
    for (const v of values) {
      checkValue(run, child, v);
    }
    const slicing = child.slicing;
    if (slicing && slicing.slices.length > 0) {
      const bySlice = new Map<ProfileNode, Located[]>(slicing.slices.map((s) => [s, []]));
      for (const v of values) {
        const slice = slicing.slices.find((s) => matchesSlice(v.value, s, slicing.discriminators));
        bySlice.get(slice as ProfileNode)?.push(v);
      }
      for (const [slice, members] of bySlice) {
        checkCardinality(run, slice, members.length, `${parent.path}.${child.key}`, `${child.key}:${slice.sliceName ?? ''}`);
        for (const m of members) {
          checkValue(run, slice, m);
          if (slice.extensionProfile) {
            checkValue({ ...run, profile: slice.extensionProfile }, slice.extensionProfile.root, m);
          }
        }
      }
    }
  }
}

/** Issues of `resource` against `profile` (empty when it conforms). Base validation must have passed first. */
export function checkProfile(resource: Resource, profile: CompiledProfile): OperationOutcomeIssue[] {
  const run: Run = { profile, resource, out: [] };
  checkValue(run, profile.root, { value: resource, path: resource.resourceType, type: resource.resourceType });
  return run.out;
}
