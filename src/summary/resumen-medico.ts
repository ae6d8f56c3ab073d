/**
 * The ECU record screen as one Parameters resource (`$resumen-medico`):
 * demographics and affiliation, last encounter, medical summary, last vital
 * signs and the four antecedentes groups per level of care. The shape is
 * documented in the README ("$resumen-medico").
 */
import type { Coverage, Encounter, Observation, Organization, Parameters, Patient, Resource } from '@medplum/fhirtypes';
import type { Message } from '../fhir/errors.ts';
import { curpSystem, nssSystem, rfcSystem } from '../mx/systems.ts';
import { ageOn } from './age.ts';
import { antecedentGroups, antecedentTable, lastUpdateOf, levelBlocks, type AntecedentItem } from './antecedentes.ts';
import { cluesOf, levelOf } from './authoring-unit.ts';
import { clinicalDate, counts, hasCode, loinc, newest } from './clinical.ts';
import type { LoadedResource, PatientRecord } from './load-record.ts';
import { absent, block, value, valueOr, type AbsentReason, type Param } from './parameters.ts';
import { levelDisplay, levelSystem, unitLabel, unitsOf, type Units } from './units.ts';
import { latestVitalSigns, vitalSignDefinitions } from './vital-signs.ts';
import { referralsOf, type ReferralItem } from './referrals.ts';

export interface SummaryInput {
  record: PatientRecord;
  /** The day the summary is for (YYYY-MM-DD): age is computed on it. */
  on: string;
  /** Resource types the caller's token may not read: their absence is "masked", not "unknown". */
  masked: ReadonlySet<string>;
}

const tipoDerechohabienteUrl = 'https://ecu-fhir.org/fhir/StructureDefinition/mx-tipo-derechohabiente';
const estadoAfiliacionUrl = 'https://ecu-fhir.org/fhir/StructureDefinition/mx-estado-afiliacion';
const expedientePrefix = 'https://ecu-fhir.org/fhir/sid/expediente/';
const bloodGroupCode = new Set(['882-1']);

/** SNOMED CT ABO/Rh values of the MX blood group profile, as the screen writes them. */
const bloodGroups: Record<string, string> = {
  '278147001': 'O+', '278148006': 'O-', '278149003': 'A+', '278152006': 'A-',
  '278150003': 'B+', '278153001': 'B-', '278151004': 'AB+', '278154007': 'AB-',
};
const sexes: Record<string, string> = { female: 'Mujer', male: 'Hombre', other: 'Otro', unknown: 'Desconocido' };

function missing(input: SummaryInput, type: string, what: Message): { reason: AbsentReason; why: Message } {
  return input.masked.has(type)
    ? { reason: 'masked', why: { es: `El token no permite leer ${type}`, en: `The token may not read ${type}` } }
    : { reason: 'unknown', why: what };
}

function absentFor(name: string, input: SummaryInput, type: string, what: Message): Param {
  const m = missing(input, type, what);
  return absent(name, m.reason, m.why);
}

export function fullName(p: Patient): string | undefined {
  const n = p.name?.find((x) => x.use === 'official') ?? p.name?.[0];
  if (!n) return undefined;
  return n.text ?? ([...(n.given ?? []), n.family].filter(Boolean).join(' ') || undefined);
}

function ref(resource: Resource, display?: string): Param['valueReference'] {
  return { reference: `${resource.resourceType}/${resource.id}`, ...(display ? { display } : {}) };
}

function unitParts(org: Organization | undefined, nameWhenUnknown: string): Param[] {
  const level = levelOf(org);
  const clues = cluesOf(org);
  return [
    valueOr('nombre', org?.name ? { valueString: org.name } : undefined, 'unknown', { es: `Sin nombre registrado de ${nameWhenUnknown}`, en: `No name recorded for the ${nameWhenUnknown}` }),
    valueOr('clues', clues ? { valueString: clues } : undefined, 'unknown', { es: 'La unidad no tiene CLUES registrada', en: 'The unit has no CLUES recorded' }),
    valueOr('nivelAtencion', level ? { valueCoding: { system: levelSystem, code: level, display: levelDisplay[level] } } : undefined, 'unknown', {
      es: 'La unidad no declara nivel de atención (extensión mx-nivel-atencion)',
      en: 'The unit declares no level of care (mx-nivel-atencion extension)',
    }),
  ];
}

function demographics(input: SummaryInput, patient: Patient): Param {
  const { record } = input;
  const id = (system: string) => patient.identifier?.find((i) => i.system === system)?.value;
  const ext = (url: string) => patient.extension?.find((e) => e.url === url)?.valueCoding;
  const notRecorded = (es: string, en: string): Message => ({ es: `${es} no registrado en el Patient`, en: `${en} not recorded on the Patient` });
  const managing = patient.managingOrganization?.reference ? (record.referenced.get(patient.managingOrganization.reference)?.resource as Organization | undefined) : undefined;
  const beneficiaries = beneficiariesOf(record);
  return block('paciente', [
    value('paciente', { valueReference: ref(patient, fullName(patient)) }),
    valueOr('nombre', fullName(patient) ? { valueString: fullName(patient) } : undefined, 'unknown', notRecorded('Nombre', 'Name')),
    valueOr('curp', id(curpSystem) ? { valueString: id(curpSystem) } : undefined, 'unknown', notRecorded('CURP', 'CURP')),
    valueOr('rfc', id(rfcSystem) ? { valueString: id(rfcSystem) } : undefined, 'unknown', notRecorded('RFC', 'RFC')),
    valueOr('nss', id(nssSystem) ? { valueString: id(nssSystem) } : undefined, 'unknown', notRecorded('NSS', 'NSS')),
    valueOr('tipoDerechohabiente', ext(tipoDerechohabienteUrl) ? { valueCoding: ext(tipoDerechohabienteUrl) } : undefined, 'unknown', notRecorded('Tipo de derechohabiente', 'Beneficiary type')),
    valueOr('estadoAfiliacion', ext(estadoAfiliacionUrl) ? { valueCoding: ext(estadoAfiliacionUrl) } : undefined, 'unknown', notRecorded('Estado de afiliación', 'Affiliation status')),
    managing
      ? block('unidadAdscripcion', [value('unidad', { valueReference: ref(managing, managing.name) }), ...unitParts(managing, 'la unidad')])
      : absentFor('unidadAdscripcion', input, 'Organization', { es: 'El Patient no indica unidad de adscripción (managingOrganization)', en: 'The Patient names no clinic (managingOrganization)' }),
    beneficiaries.length > 0
      ? block('beneficiarios', beneficiaries.map((b) => block('beneficiario', [value('paciente', { valueReference: ref(b, fullName(b)) }), valueOr('nombre', fullName(b) ? { valueString: fullName(b) } : undefined, 'unknown', notRecorded('Nombre', 'Name'))])))
      : absent('beneficiarios', 'unknown', { es: 'Sin beneficiarios registrados (Patient.link o Coverage.subscriber)', en: 'No beneficiaries recorded (Patient.link or Coverage.subscriber)' }),
  ]);
}

/** Patients linked to this one (Patient.link) and beneficiaries of Coverages it subscribes. */
function beneficiariesOf(record: PatientRecord): Patient[] {
  const out = new Map<string, Patient>();
  const self = `Patient/${record.patientId}`;
  for (const { resource } of record.compartment) {
    if (resource.resourceType === 'Patient' && resource.id !== record.patientId) out.set(resource.id ?? '', resource as Patient);
    if (resource.resourceType === 'Coverage' && counts(resource)) {
      const c = resource as Coverage;
      const target = c.beneficiary?.reference;
      const p = target && target !== self && c.subscriber?.reference === self ? record.referenced.get(target) ?? record.compartment.find((r) => `Patient/${r.resource.id}` === target) : undefined;
      if (p?.resource.resourceType === 'Patient') out.set(p.resource.id ?? '', p.resource as Patient);
    }
  }
  return [...out.values()];
}

function lastEncounter(input: SummaryInput, units: Units): Param {
  const encounters = input.record.compartment.filter((r) => r.resource.resourceType === 'Encounter' && counts(r.resource));
  const last = newest(encounters, (r) => (r.resource as Encounter).period?.start ?? clinicalDate(r.resource), (r) => r.lastUpdated);
  if (!last) {
    return absentFor('ultimaAtencion', input, 'Encounter', { es: 'No hay encuentros (Encounter) en el expediente', en: 'No encounters in the record' });
  }
  const enc = last.resource as Encounter;
  const provider = enc.serviceProvider?.reference ? (input.record.referenced.get(enc.serviceProvider.reference)?.resource as Organization | undefined) : undefined;
  const unit = provider ?? units.unitOf(enc);
  const when = enc.period?.start ?? clinicalDate(enc);
  return block('ultimaAtencion', [
    value('encuentro', { valueReference: ref(enc) }),
    valueOr('fecha', when ? { valueDateTime: when } : undefined, 'unknown', { es: 'El Encounter no tiene period', en: 'The Encounter has no period' }),
    ...unitParts(unit, 'la unidad que atendió'),
  ]);
}

function bloodGroup(input: SummaryInput): Param {
  const candidates = input.record.compartment.filter((r) => r.resource.resourceType === 'Observation' && counts(r.resource) && hasCode((r.resource as Observation).code, loinc, bloodGroupCode));
  const last = newest(candidates, (r) => clinicalDate(r.resource), (r) => r.lastUpdated);
  if (!last) {
    return absentFor('grupoSanguineo', input, 'Observation', { es: 'Sin Observation de grupo sanguíneo (LOINC 882-1)', en: 'No blood group Observation (LOINC 882-1)' });
  }
  const obs = last.resource as Observation;
  const coding = obs.valueCodeableConcept?.coding?.find((c) => c.system === 'http://snomed.info/sct' && c.code && bloodGroups[c.code]) ?? obs.valueCodeableConcept?.coding?.[0];
  const text = (coding?.code && bloodGroups[coding.code]) ?? obs.valueCodeableConcept?.text;
  return block('grupoSanguineo', [
    coding ? value('valor', { valueCoding: coding }) : absent('valor', 'unknown', { es: 'La Observation no trae un valor codificado', en: 'The Observation carries no coded value' }),
    valueOr('texto', text ? { valueString: text } : undefined, 'unknown', { es: 'Valor sin texto', en: 'Value without text' }),
    value('observacion', { valueReference: ref(obs) }),
    valueOr('fecha', clinicalDate(obs) ? { valueDateTime: clinicalDate(obs) } : undefined, 'unknown', { es: 'Sin fecha', en: 'No date' }),
  ]);
}

function medicalSummary(input: SummaryInput, patient: Patient): Param {
  const age = patient.birthDate ? ageOn(patient.birthDate, input.on) : undefined;
  const expedientes = (patient.identifier ?? []).filter((i) => i.system?.startsWith(expedientePrefix) || i.type?.coding?.some((c) => c.code === 'MR'));
  return block('resumenMedico', [
    valueOr('edad', age !== undefined ? { valueAge: { value: age, unit: 'años', system: 'http://unitsofmeasure.org', code: 'a' } } : undefined, 'unknown', {
      es: patient.birthDate ? `La fecha de nacimiento ${patient.birthDate} no basta para la edad al ${input.on}` : 'Sin fecha de nacimiento',
      en: patient.birthDate ? `Birth date ${patient.birthDate} does not give the age on ${input.on}` : 'No birth date',
    }),
    bloodGroup(input),
    valueOr('sexo', patient.gender ? { valueCoding: { system: 'http://hl7.org/fhir/administrative-gender', code: patient.gender, display: sexes[patient.gender] } } : undefined, 'unknown', { es: 'Sexo no registrado', en: 'Sex not recorded' }),
    ...(expedientes.length > 0
      ? expedientes.map((e) => value('expediente', { valueIdentifier: { system: e.system, value: e.value } }))
      : [absent('expediente', 'unknown', { es: 'Sin número de expediente (identifier tipo MR)', en: 'No record number (identifier of type MR)' })]),
  ]);
}

function vitalSigns(input: SummaryInput): Param {
  const latest = latestVitalSigns(input.record.compartment);
  let newestWhen: string | undefined;
  const parts = vitalSignDefinitions.map((def) => {
    const v = latest.get(def.key);
    if (!v) {
      return absentFor(def.key, input, 'Observation', { es: `Sin registro de ${def.es.toLowerCase()}`, en: `No ${def.key} recorded` });
    }
    if (v.when && (!newestWhen || Date.parse(v.when) > Date.parse(newestWhen))) newestWhen = v.when;
    const values = v.components
      ? def.components?.map((c) => valueOr(c.key, v.components?.get(c.key) ? { valueQuantity: v.components.get(c.key) } : undefined, 'unknown', { es: `Sin componente ${c.es.toLowerCase()}`, en: `No ${c.key} component` })) ?? []
      : [value('valor', { valueQuantity: v.quantity })];
    return block(def.key, [
      ...values,
      valueOr('fecha', v.when ? { valueDateTime: v.when } : undefined, 'unknown', { es: 'Sin fecha de medición', en: 'No measurement date' }),
      value('observacion', { valueReference: ref(v.observation) }),
    ]);
  });
  return block('signosVitales', [
    valueOr('ultimaActualizacion', newestWhen ? { valueDateTime: newestWhen } : undefined, missing(input, 'Observation', { es: '', en: '' }).reason, { es: 'Sin signos vitales', en: 'No vital signs' }),
    ...parts,
  ]);
}

function antecedentItem(item: AntecedentItem, units: Units): Param {
  const unit = units.unitOf(item.item.resource);
  return block('registro', [
    value('texto', { valueString: item.text }),
    item.date ? value('fecha', { valueDateTime: item.date }) : undefined,
    value('recurso', { valueReference: ref(item.item.resource) }),
    unit && (unit.name || cluesOf(unit)) ? value('unidad', { valueString: unit.name ?? cluesOf(unit) }) : undefined,
  ]);
}

function antecedents(input: SummaryInput, patient: Patient, units: Units): Param {
  const table = antecedentTable(input.record.compartment, (r) => units.levelOf(r));
  const groupType: Record<string, string> = { heredoFamiliares: 'FamilyMemberHistory', patologicos: 'Condition', noPatologicos: 'Observation', ginecoObstetricos: 'Observation' };
  const blocks = levelBlocks
    .filter((b) => b.key !== 'nivelDesconocido' || [...(table.get(b.key)?.values() ?? [])].some((items) => items.length > 0))
    .map((b) =>
      block(
        b.key,
        antecedentGroups.map((g) => {
          const items = table.get(b.key)?.get(g.key) ?? [];
          if (items.length === 0) {
            if (g.key === 'ginecoObstetricos' && patient.gender === 'male') {
              return absent(g.key, 'not-applicable', { es: 'No aplica: paciente masculino', en: 'Not applicable: male patient' });
            }
            return absentFor(g.key, input, groupType[g.key] ?? 'Observation', { es: `Sin ${g.es.toLowerCase()} registrados en ${b.es.toLowerCase()}`, en: `No ${g.key} recorded at ${b.key}` });
          }
          const last = lastUpdateOf(items);
          return block(g.key, [value('ultimaActualizacion', { valueInstant: last?.toISOString() }), ...items.map((i) => antecedentItem(i, units))]);
        }),
      ),
    );
  return block('antecedentes', blocks);
}

function referralItem(name: string, item: ReferralItem): Param {
  const { task, request, note } = item;
  return block(name, [
    value('tarea', { valueReference: ref(task) }),
    request ? value('solicitud', { valueReference: ref(request) }) : undefined,
    value('estado', { valueCode: task.status }),
    task.priority ? value('prioridad', { valueCode: task.priority }) : undefined,
    item.specialty ? value('especialidad', { valueCoding: item.specialty }) : undefined,
    unitLabel(item.requester) ? value('unidadQueRefiere', { valueString: unitLabel(item.requester) }) : undefined,
    unitLabel(item.owner) ? value('unidadReceptora', { valueString: unitLabel(item.owner) }) : undefined,
    task.authoredOn ? value('fechaEnvio', { valueDateTime: task.authoredOn }) : undefined,
    note ? value('contrarreferencia', { valueReference: ref(note, note.title) }) : undefined,
    note?.date ? value('fechaContrarreferencia', { valueDateTime: note.date }) : undefined,
  ]);
}

/** Open referrals and the latest contrarreferencias (issue 17). */
function referrals(input: SummaryInput): Param {
  const { open, returned } = referralsOf(input.record);
  return block('referencias', [
    open.length > 0 ? block('abiertas', open.map((i) => referralItem('referencia', i))) : absentFor('abiertas', input, 'Task', { es: 'Sin referencias abiertas', en: 'No open referrals' }),
    returned.length > 0
      ? block('contrarreferencias', returned.map((i) => referralItem('referencia', i)))
      : absentFor('contrarreferencias', input, 'Task', { es: 'Sin contrarreferencias recibidas', en: 'No contrarreferencias received' }),
  ]);
}

export function buildResumenMedico(input: SummaryInput): Parameters {
  const patient = input.record.patient;
  const units = unitsOf(input.record);
  return {
    resourceType: 'Parameters',
    parameter: [
      value('fecha', { valueDate: input.on }),
      demographics(input, patient),
      lastEncounter(input, units),
      medicalSummary(input, patient),
      vitalSigns(input),
      antecedents(input, patient, units),
      referrals(input),
    ],
  };
}

export type { LoadedResource };
