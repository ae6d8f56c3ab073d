/**
 * Content negotiation: the server speaks JSON only
 * (https://hl7.org/fhir/R4/http.html#mime-type). `_format` wins over Accept.
 */
import { notAcceptable } from '../fhir/errors.ts';

const jsonFormats = new Set(['json', 'application/json', 'application/fhir+json', 'application/json+fhir', 'text/json']);
// NDJSON: what bulk export clients ask for when they download the files (https://hl7.org/fhir/uv/bulkdata/export.html#file-request).
const acceptableTypes = new Set(['*/*', 'application/*', 'application/json', 'application/fhir+json', 'application/json+fhir', 'text/json', 'application/fhir+ndjson', 'application/ndjson']);

/** `extra`: media types one route also answers in (a measure report's text/csv). */
export function checkFormat(format: string | undefined, accept: string | undefined, extra: readonly string[] = []): void {
  if (format !== undefined) {
    const base = format.split(';')[0]?.trim().toLowerCase() ?? '';
    if (!jsonFormats.has(base) && !extra.includes(base) && !extra.some((t) => t.endsWith(`/${base}`))) {
      throw notAcceptable({ es: `_format=${format} no soportado: este servidor solo responde JSON`, en: `_format=${format} is not supported: this server answers JSON only` }, '_format');
    }
    return;
  }
  if (accept === undefined || accept.trim() === '') {
    return;
  }
  const types = accept.split(',').map((part) => {
    const [type, ...params] = part.split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return { type: (type ?? '').trim().toLowerCase(), q: q ? Number(q.slice(2)) : 1 };
  });
  if (!types.some((t) => t.q > 0 && (acceptableTypes.has(t.type) || extra.includes(t.type)))) {
    throw notAcceptable({ es: `Accept: ${accept} no soportado: este servidor solo responde application/fhir+json`, en: `Accept: ${accept} is not supported: this server answers application/fhir+json only` }, 'Accept');
  }
}
