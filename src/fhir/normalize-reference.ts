/**
 * The one rule for the form of a literal reference (Reference.reference),
 * applied when a version is written (persist.ts), and shared by the search
 * index and the receta dispense ledger so all three agree on what a
 * reference names. https://hl7.org/fhir/R4/references.html#literal
 *
 * Stored as sent: `Type/id`, `Type/id/_history/vid`, `#contained`,
 * `urn:uuid:`/`urn:oid:`, a conditional `Type?query`, and absolute URLs of
 * other servers. Rewritten: an absolute URL under one of this server's own
 * bases (FHIR_BASE_URL, or http(s)://<ALLOWED_HOSTS entry><FHIR_BASE_PATH>,
 * or the base the request came to) becomes `Type/id[/_history/vid]`.
 * Refused (400 naming the element): surrounding whitespace, `./` or a
 * leading `/`, and anything after `Type/` that is not exactly an id (a
 * trailing `/`, a query string, a fragment, more segments) — such strings
 * name a resource of this server without being its reference, which let a
 * dispense escape its prescription's ledger.
 */
import { badRequest, type Message } from './errors.ts';

/** `Type/id` or `Type/id/_history/vid`, the only relative form a literal reference takes here. */
const local = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?$/;
const absolute = /^([A-Za-z][A-Za-z0-9+.-]*):/;
const httpUrl = /^(https?):\/\/([^/?#\s]+)(.*)$/is;
const conditional = /^[A-Z][A-Za-z]+\?/;

export interface LocalReference {
  type: string;
  id: string;
  version?: string;
}

/** `Type/id[/_history/vid]` split into its parts; undefined for any other string. */
export function parseLocalReference(reference: string | undefined): LocalReference | undefined {
  const m = reference === undefined ? null : local.exec(reference);
  if (!m) return undefined;
  return m[3] === undefined ? { type: m[1] ?? '', id: m[2] ?? '' } : { type: m[1] ?? '', id: m[2] ?? '', version: m[3] };
}

/** A server base as compared: host[:port] in lower case, default port dropped, and the path without trailing `/`. */
interface Base {
  authority: string;
  path: string;
}

function authorityOf(scheme: string, authority: string): string | undefined {
  try {
    const url = new URL(`${scheme.toLowerCase()}://${authority}`);
    return url.host;
  } catch {
    return undefined;
  }
}

/** `trimSlash` for a configured base (its trailing `/` means nothing), never for a reference (where it is refused). */
function toBase(url: string, trimSlash: boolean): Base | undefined {
  const m = httpUrl.exec(url);
  const authority = m ? authorityOf(m[1] ?? '', m[2] ?? '') : undefined;
  const path = m?.[3] ?? '';
  return m && authority !== undefined ? { authority, path: trimSlash ? path.replace(/\/+$/, '') : path } : undefined;
}

/**
 * The absolute bases this server answers on. Scheme is not compared (behind
 * a proxy the same base is reached by http and https).
 */
export function ownBaseUrls(options: { publicBaseUrl?: string; allowedHosts?: readonly string[]; basePath: string; requestBaseUrl?: string }): string[] {
  const out = new Set<string>();
  if (options.publicBaseUrl) out.add(options.publicBaseUrl.replace(/\/+$/, ''));
  for (const host of options.allowedHosts ?? []) out.add(`http://${host}${options.basePath}`);
  if (options.requestBaseUrl) out.add(options.requestBaseUrl.replace(/\/+$/, ''));
  return [...out];
}

export type Verdict = { value: string; refused?: undefined } | { refused: Message; value?: undefined };

const canonicalHint = { es: 'use la forma Tipo/id (p. ej. MedicationRequest/123)', en: 'use the form Type/id (e.g. MedicationRequest/123)' };

function refuse(reference: string, why: Message): Verdict {
  const shown = JSON.stringify(reference);
  return { refused: { es: `Referencia ${shown} inválida: ${why.es}; ${canonicalHint.es}`, en: `Invalid reference ${shown}: ${why.en}; ${canonicalHint.en}` } };
}

/** What a literal reference is stored as, or why it is refused (see the module comment). */
export function normalizeReference(reference: string, bases: readonly string[]): Verdict {
  if (reference.trim() !== reference) {
    return refuse(reference, { es: 'lleva espacios al inicio o al final', en: 'it has leading or trailing whitespace' });
  }
  if (reference.startsWith('#') || local.test(reference) || conditional.test(reference)) {
    return { value: reference };
  }
  if (reference.startsWith('./') || reference.startsWith('../') || reference.startsWith('/')) {
    return refuse(reference, { es: 'una referencia relativa no empieza con "./", "../" ni "/"', en: 'a relative reference does not start with "./", "../" or "/"' });
  }
  const scheme = absolute.exec(reference)?.[1];
  if (scheme === undefined) {
    // `Type/…` that is not `Type/id[/_history/vid]`: a trailing slash, a query, a fragment, extra segments.
    if (/^[A-Z][A-Za-z]+\//.test(reference)) {
      return refuse(reference, { es: 'después de Tipo/ solo va el id (sin "/" final, "?", "#" ni más segmentos)', en: 'only the id follows Type/ (no trailing "/", "?", "#" or further segments)' });
    }
    return { value: reference };
  }
  const url = toBase(reference, false);
  if (!url) {
    return { value: reference };
  }
  for (const b of bases) {
    const base = toBase(b, true);
    if (!base || base.authority !== url.authority) continue;
    if (url.path !== base.path && !url.path.startsWith(`${base.path}/`)) continue;
    const tail = url.path.slice(base.path.length + 1);
    if (local.test(tail)) {
      return { value: tail };
    }
    return refuse(reference, { es: `nombra este servidor (${b}) pero no es ${b}/Tipo/id`, en: `it names this server (${b}) but is not ${b}/Type/id` });
  }
  // Another server's URL: kept as it came.
  return { value: reference };
}

/** `"reference": "<JSON string>"` as a key (an unescaped `":"` cannot occur inside a JSON string). */
const referenceMember = /"reference"\s*:\s*"((?:[^"\\]|\\.)*)"/g;

/**
 * The stored JSON of a resource with its literal references normalised; the
 * text is rewritten only where a reference changes, so everything else stays
 * byte for byte as it came. A Bundle (a document or collection) is kept as
 * sent: its references resolve against its own fullUrls and its signature
 * covers them. Throws a 400 naming the first refused element.
 */
export function normalizeContentReferences(resourceType: string, content: string, bases: readonly string[]): string {
  if (resourceType === 'Bundle' || !content.includes('"reference"')) {
    return content;
  }
  let refused: Message | undefined;
  const out = content.replace(referenceMember, (whole, raw: string) => {
    if (refused) return whole;
    const value = JSON.parse(`"${raw}"`) as string;
    const verdict = normalizeReference(value, bases);
    if (verdict.refused) {
      refused = verdict.refused;
      return whole;
    }
    return verdict.value === value ? whole : `"reference":${JSON.stringify(verdict.value)}`;
  });
  if (refused) {
    throw badRequest(refused, refusedPaths(content, bases), 'value');
  }
  return out;
}

/** Calls `visit` for each `reference` string member with its holder (to rewrite in place); paths are only built on refusal. */
function eachReference(node: unknown, visit: (value: string, holder: Record<string, unknown>) => void): void {
  if (Array.isArray(node)) {
    for (const item of node) eachReference(item, visit);
  } else if (node !== null && typeof node === 'object') {
    const record = node as Record<string, unknown>;
    for (const key in record) {
      const value = record[key];
      if (key === 'reference' && typeof value === 'string') visit(value, record);
      else if (typeof value === 'object') eachReference(value, visit);
    }
  }
}

/** The FHIRPath of each refused reference in a parsed resource (only computed to answer a refusal). */
function refusedPathsOf(node: unknown, path: string, bases: readonly string[], found: string[] = []): string[] {
  if (Array.isArray(node)) {
    node.forEach((item, i) => refusedPathsOf(item, `${path}[${i}]`, bases, found));
  } else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
      if (key === 'reference' && typeof value === 'string') {
        if (normalizeReference(value, bases).refused) found.push(`${path}.reference`);
      } else if (typeof value === 'object') {
        refusedPathsOf(value, `${path}.${key}`, bases, found);
      }
    }
  }
  return found;
}

function refusedPaths(content: string, bases: readonly string[]): string[] {
  const resource = JSON.parse(content) as { resourceType?: string };
  return refusedPathsOf(resource, resource.resourceType ?? 'Resource', bases);
}

/**
 * The same rule on a parsed resource, in place, before it is validated: the
 * MX profile rules (a receta's requester must be Practitioner/{id}) then
 * judge the form that will be stored. Throws a 400 naming every refused element.
 */
export function normalizeResourceReferences(resource: { resourceType?: unknown }, bases: readonly string[]): void {
  if (resource.resourceType === 'Bundle') {
    return;
  }
  let refused: Message | undefined;
  eachReference(resource, (value, holder) => {
    const verdict = normalizeReference(value, bases);
    if (verdict.refused) refused ??= verdict.refused;
    else if (verdict.value !== value) holder.reference = verdict.value;
  });
  if (refused) {
    throw badRequest(refused, refusedPathsOf(resource, typeof resource.resourceType === 'string' ? resource.resourceType : 'Resource', bases), 'value');
  }
}
