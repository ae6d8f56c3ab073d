/**
 * `includeAssociatedData` of a bulk export (https://hl7.org/fhir/uv/bulkdata/export.html#query-parameters):
 * `LatestProvenanceResources` (for each exported resource, its most recent
 * Provenance) and `RelevantProvenanceResources` (all its Provenance); both
 * given: the larger set, as the IG says for conflicting values. Other values
 * (custom `_…` presets included) are not supported. Pure.
 */
import type { Message } from '../fhir/errors.ts';

export type AssociatedData = 'latest' | 'relevant';

const known: Record<string, AssociatedData> = { LatestProvenanceResources: 'latest', RelevantProvenanceResources: 'relevant' };

export interface ParsedAssociated {
  associated?: AssociatedData;
  rejected: { entry: string; message: Message }[];
}

export function parseAssociated(values: readonly string[]): ParsedAssociated {
  const out: ParsedAssociated = { rejected: [] };
  for (const entry of new Set(values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== ''))) {
    const value = known[entry];
    if (!value) {
      out.rejected.push({ entry, message: { es: `includeAssociatedData: valor no admitido "${entry}" (se admiten LatestProvenanceResources y RelevantProvenanceResources)`, en: `includeAssociatedData: unsupported value "${entry}" (LatestProvenanceResources and RelevantProvenanceResources are)` } });
    } else if (out.associated !== 'relevant') {
      out.associated = value;
    }
  }
  return out;
}
