/**
 * The four groups of antecedentes of the ECU record screen (NOM-004-SSA3-2012,
 * historia clínica: heredo-familiares, personales patológicos, personales no
 * patológicos, gineco-obstétricos), each split by the level of care of the
 * unit that authored the record.
 */
import type { AllergyIntolerance, Condition, FamilyMemberHistory, Observation, Resource } from '@medplum/fhirtypes';
import { clinicalDate, counts, hasCategory, hasCode, loinc, newest, textOf } from './clinical.ts';
import type { LoadedResource } from './load-record.ts';
import type { Level } from './authoring-unit.ts';

export type AntecedentGroupKey = 'heredoFamiliares' | 'patologicos' | 'noPatologicos' | 'ginecoObstetricos';
export const antecedentGroups: readonly { key: AntecedentGroupKey; es: string }[] = [
  { key: 'heredoFamiliares', es: 'Antecedentes heredo-familiares' },
  { key: 'patologicos', es: 'Antecedentes personales patológicos' },
  { key: 'noPatologicos', es: 'Antecedentes personales no patológicos' },
  { key: 'ginecoObstetricos', es: 'Antecedentes gineco-obstétricos' },
];

export type LevelBlockKey = 'primerNivel' | 'segundoTercerNivel' | 'nivelDesconocido';
export const levelBlocks: readonly { key: LevelBlockKey; es: string }[] = [
  { key: 'primerNivel', es: 'Primer nivel de atención' },
  { key: 'segundoTercerNivel', es: 'Segundo y tercer nivel de atención' },
  { key: 'nivelDesconocido', es: 'Unidad sin nivel de atención conocido' },
];

/** Pregnancy and obstetric history (LOINC; IPS "History of pregnancy" section codes and counts). */
export const pregnancyCodes: ReadonlySet<string> = new Set([
  '82810-3', '11449-6', '11996-6', '11977-6', '11612-9', '11613-7', '11614-5', '11636-8', '11637-6', '11638-4',
  '11639-2', '11640-0', '33065-4', '8665-2', '11778-8', '11779-6', '11780-4', '42798-9', '63893-2', '57062-2',
]);

/** Social history codes reported outside the social-history category (tobacco, alcohol, substance use). */
const socialCodes: ReadonlySet<string> = new Set(['72166-2', '11367-0', '11331-6', '74013-4', '68518-0', '72109-2', '11343-1']);

export function isPregnancyObservation(obs: Observation): boolean {
  return hasCode(obs.code, loinc, pregnancyCodes);
}

export function isSocialHistoryObservation(obs: Observation): boolean {
  return !isPregnancyObservation(obs) && (hasCategory(obs, 'social-history') || hasCode(obs.code, loinc, socialCodes));
}

export interface AntecedentItem {
  item: LoadedResource;
  text: string;
  date: string | undefined;
}

/** Which group a record belongs to, if any. */
export function groupOf(resource: Resource): AntecedentGroupKey | undefined {
  switch (resource.resourceType) {
    case 'FamilyMemberHistory':
      return 'heredoFamiliares';
    case 'Condition':
    case 'AllergyIntolerance':
      return 'patologicos';
    case 'Observation':
      return isPregnancyObservation(resource) ? 'ginecoObstetricos' : isSocialHistoryObservation(resource) ? 'noPatologicos' : undefined;
    default:
      return undefined;
  }
}

export function observationValueText(obs: Observation): string | undefined {
  if (obs.valueQuantity?.value !== undefined) return `${obs.valueQuantity.value} ${obs.valueQuantity.unit ?? obs.valueQuantity.code ?? ''}`.trim();
  if (obs.valueCodeableConcept) return textOf(obs.valueCodeableConcept);
  if (obs.valueString !== undefined) return obs.valueString;
  if (obs.valueBoolean !== undefined) return obs.valueBoolean ? 'sí' : 'no';
  if (obs.valueInteger !== undefined) return String(obs.valueInteger);
  return obs.valueDateTime;
}

/** "Madre — Cáncer", "Alergia: penicilina", "Tabaquismo: nunca ha fumado". */
export function antecedentText(resource: Resource): string {
  switch (resource.resourceType) {
    case 'FamilyMemberHistory': {
      const f = resource as FamilyMemberHistory;
      const who = f.relationship.text ?? textOf(f.relationship) ?? 'Familiar';
      const what = (f.condition ?? []).map((c) => textOf(c.code)).filter(Boolean);
      return what.length > 0 ? `${who} — ${what.join(', ')}` : who;
    }
    case 'Condition':
      return textOf((resource as Condition).code) ?? 'Padecimiento sin código';
    case 'AllergyIntolerance':
      return `Alergia: ${textOf((resource as AllergyIntolerance).code) ?? 'sin especificar'}`;
    case 'Observation': {
      const obs = resource as Observation;
      const value = observationValueText(obs);
      return value ? `${textOf(obs.code) ?? 'Observación'}: ${value}` : (textOf(obs.code) ?? 'Observación');
    }
    default:
      return resource.resourceType;
  }
}

function blockOf(level: Level | undefined): LevelBlockKey {
  return level === '1' ? 'primerNivel' : level === '2' || level === '3' ? 'segundoTercerNivel' : 'nivelDesconocido';
}

export type AntecedentTable = Map<LevelBlockKey, Map<AntecedentGroupKey, AntecedentItem[]>>;

/**
 * Sorts the records into level blocks and groups. Observations repeat over
 * the years (smoking status at every visit): only the newest of each code
 * per block is kept; conditions, allergies and family history are all kept.
 */
export function antecedentTable(records: readonly LoadedResource[], levelOf: (r: Resource) => Level | undefined): AntecedentTable {
  const table: AntecedentTable = new Map(levelBlocks.map((b) => [b.key, new Map(antecedentGroups.map((g) => [g.key, [] as AntecedentItem[]]))]));
  const observations = new Map<string, LoadedResource[]>();
  for (const item of records) {
    const group = groupOf(item.resource);
    if (!group || !counts(item.resource)) continue;
    const block = blockOf(levelOf(item.resource));
    if (item.resource.resourceType === 'Observation') {
      const code = (item.resource as Observation).code.coding?.[0]?.code ?? textOf((item.resource as Observation).code) ?? '';
      const key = `${block}|${group}|${code}`;
      const list = observations.get(key);
      if (list) list.push(item);
      else observations.set(key, [item]);
      continue;
    }
    table.get(block)?.get(group)?.push({ item, text: antecedentText(item.resource), date: clinicalDate(item.resource) });
  }
  for (const [key, items] of observations) {
    const [block, group] = key.split('|') as [LevelBlockKey, AntecedentGroupKey];
    const chosen = newest(items, (i) => clinicalDate(i.resource), (i) => i.lastUpdated);
    if (chosen) table.get(block)?.get(group)?.push({ item: chosen, text: antecedentText(chosen.resource), date: clinicalDate(chosen.resource) });
  }
  return table;
}

/** When a group was last written in the ECU: the newest meta.lastUpdated of its records. */
export function lastUpdateOf(items: readonly AntecedentItem[]): Date | undefined {
  let best: Date | undefined;
  for (const i of items) if (!best || i.item.lastUpdated > best) best = i.item.lastUpdated;
  return best;
}
