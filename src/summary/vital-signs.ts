/**
 * The last value of each vital sign (LOINC codes of the R4 vital signs
 * profiles, https://hl7.org/fhir/R4/observation-vitalsigns.html, plus the
 * panel and temperature codes Synthea uses). The newest valid observation of
 * each sign wins (clinical date, then storage time); see `counts` for which
 * statuses are valid.
 */
import type { Observation, Quantity } from '@medplum/fhirtypes';
import { clinicalDate, counts, hasCode, loinc, newest } from './clinical.ts';
import type { LoadedResource } from './load-record.ts';

export interface VitalSignDefinition {
  key: string;
  es: string;
  codes: ReadonlySet<string>;
  /** For panels: the component codes whose values are read (blood pressure). */
  components?: { key: string; es: string; code: string }[];
}

export const vitalSignDefinitions: readonly VitalSignDefinition[] = [
  { key: 'peso', es: 'Peso', codes: new Set(['29463-7', '3141-9']) },
  { key: 'talla', es: 'Talla', codes: new Set(['8302-2', '8306-3']) },
  { key: 'imc', es: 'Índice de masa corporal', codes: new Set(['39156-5']) },
  { key: 'temperatura', es: 'Temperatura', codes: new Set(['8310-5', '8331-1']) },
  { key: 'frecuenciaCardiaca', es: 'Frecuencia cardiaca', codes: new Set(['8867-4']) },
  { key: 'frecuenciaRespiratoria', es: 'Frecuencia respiratoria', codes: new Set(['9279-1']) },
  { key: 'saturacionOxigeno', es: 'Saturación de oxígeno', codes: new Set(['59408-5', '2708-6']) },
  {
    key: 'presionArterial',
    es: 'Presión arterial',
    codes: new Set(['85354-9', '55284-4']),
    components: [
      { key: 'sistolica', es: 'Sistólica', code: '8480-6' },
      { key: 'diastolica', es: 'Diastólica', code: '8462-4' },
    ],
  },
];

export interface VitalSignValue {
  definition: VitalSignDefinition;
  observation: Observation;
  stored: LoadedResource;
  /** dateTime of the measurement (effective[x], else issued). */
  when: string | undefined;
  /** The value, or the component values of a panel (by component key). */
  quantity?: Quantity;
  components?: Map<string, Quantity | undefined>;
}

function definitionOf(obs: Observation): VitalSignDefinition | undefined {
  return vitalSignDefinitions.find((d) => hasCode(obs.code, loinc, d.codes));
}

function hasValue(obs: Observation, def: VitalSignDefinition): boolean {
  if (def.components) {
    return (obs.component ?? []).some((c) => c.valueQuantity?.value !== undefined);
  }
  return obs.valueQuantity?.value !== undefined;
}

/** The newest valid observation of each vital sign, keyed by `VitalSignDefinition.key`. */
export function latestVitalSigns(observations: readonly LoadedResource[]): Map<string, VitalSignValue> {
  const byKey = new Map<string, LoadedResource[]>();
  for (const item of observations) {
    const obs = item.resource as Observation;
    if (obs.resourceType !== 'Observation' || !counts(obs)) continue;
    const def = definitionOf(obs);
    if (!def || !hasValue(obs, def)) continue;
    const list = byKey.get(def.key);
    if (list) list.push(item);
    else byKey.set(def.key, [item]);
  }
  const out = new Map<string, VitalSignValue>();
  for (const def of vitalSignDefinitions) {
    const chosen = newest(byKey.get(def.key) ?? [], (i) => clinicalDate(i.resource), (i) => i.lastUpdated);
    if (!chosen) continue;
    const obs = chosen.resource as Observation;
    const value: VitalSignValue = { definition: def, observation: obs, stored: chosen, when: clinicalDate(obs) };
    if (def.components) {
      value.components = new Map(def.components.map((c) => [c.key, obs.component?.find((x) => hasCode(x.code, loinc, new Set([c.code])))?.valueQuantity]));
    } else {
      value.quantity = obs.valueQuantity;
    }
    out.set(def.key, value);
  }
  return out;
}

/** "121/81 mm[Hg]", "71 kg": a value as the screen shows it. */
export function formatVitalSign(v: VitalSignValue): string {
  const q = (x: Quantity | undefined) => (x?.value === undefined ? '—' : `${x.value}`);
  if (v.components) {
    const parts = [...v.components.values()];
    const unit = parts.find((p) => p?.unit ?? p?.code);
    return `${parts.map(q).join('/')} ${unit?.unit ?? unit?.code ?? ''}`.trim();
  }
  return `${q(v.quantity)} ${v.quantity?.unit ?? v.quantity?.code ?? ''}`.trim();
}
