/** The search part of the CapabilityStatement, from the same registry the compiler uses (https://hl7.org/fhir/R4/capabilitystatement.html). */
import type { CapabilityStatementRestResource, CapabilityStatementRestResourceSearchParam } from '@medplum/fhirtypes';
import { searchParamsOf } from './search-parameters.ts';

type SearchPart = Pick<CapabilityStatementRestResource, 'searchParam' | 'searchInclude' | 'searchRevInclude'>;

export function searchCapabilities(types: readonly string[]): Map<string, SearchPart> {
  const revinclude = new Map<string, string[]>();
  for (const source of types) {
    for (const p of searchParamsOf(source).values()) {
      if (p.type !== 'reference') continue;
      for (const target of p.targets) revinclude.set(target, [...(revinclude.get(target) ?? []), `${source}:${p.code}`]);
    }
  }
  const out = new Map<string, SearchPart>();
  for (const type of types) {
    const params = [...searchParamsOf(type).values()];
    out.set(type, {
      searchParam: params.map((p) => ({ name: p.code, type: p.type as CapabilityStatementRestResourceSearchParam['type'] })),
      searchInclude: params.filter((p) => p.type === 'reference').map((p) => `${type}:${p.code}`),
      searchRevInclude: revinclude.get(type) ?? [],
    });
  }
  return out;
}
