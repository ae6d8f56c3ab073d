/** Spanish narrative (XHTML) for the IPS document sections. https://hl7.org/fhir/R4/narrative.html */
import type { AllergyIntolerance, Composition, Condition, MedicationRequest, MedicationStatement, Narrative, Observation, Procedure, Resource, ServiceRequest } from '@medplum/fhirtypes';
import { antecedentText, observationValueText } from './antecedentes.ts';
import { clinicalDate, textOf } from './clinical.ts';

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A table narrative: one row per entry. */
export function tableNarrative(headers: readonly string[], rows: readonly (readonly (string | undefined)[])[]): Narrative {
  const head = `<tr>${headers.map((h) => `<th>${escapeXml(h)}</th>`).join('')}</tr>`;
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${escapeXml(c ?? '—')}</td>`).join('')}</tr>`).join('');
  return { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml"><table><thead>${head}</thead><tbody>${body}</tbody></table></div>` };
}

export function textNarrative(text: string): Narrative {
  return { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml"><p>${escapeXml(text)}</p></div>` };
}

const statusEs: Record<string, string> = {
  active: 'activo', recurrence: 'recurrente', relapse: 'recaída', inactive: 'inactivo', remission: 'en remisión', resolved: 'resuelto',
  completed: 'terminado', stopped: 'suspendido', 'on-hold': 'en pausa', draft: 'borrador', intended: 'planeado', 'not-taken': 'no tomado',
  final: 'final', amended: 'corregido', corrected: 'corregido', preliminary: 'preliminar', 'in-progress': 'en curso', unknown: 'desconocido',
  high: 'alta', low: 'baja', 'unable-to-assess': 'no evaluable',
};

export function statusText(code: string | undefined): string | undefined {
  return code === undefined ? undefined : (statusEs[code] ?? code);
}

function medicationText(m: MedicationRequest | MedicationStatement, resolve: (ref: string) => Resource | undefined): string {
  if (m.medicationCodeableConcept) return textOf(m.medicationCodeableConcept) ?? 'Medicamento';
  const ref = m.medicationReference;
  const med = ref?.reference ? resolve(ref.reference) : undefined;
  return (med?.resourceType === 'Medication' ? textOf(med.code) : undefined) ?? ref?.display ?? 'Medicamento';
}

/** One narrative row for a section entry: [what, detail, status, date]. */
export function rowOf(resource: Resource, resolve: (ref: string) => Resource | undefined): string[] {
  const date = clinicalDate(resource) ?? '';
  switch (resource.resourceType) {
    case 'Condition': {
      const c = resource as Condition;
      return [textOf(c.code) ?? 'Padecimiento', c.severity ? (textOf(c.severity) ?? '') : '', statusText(c.clinicalStatus?.coding?.[0]?.code) ?? '', date];
    }
    case 'AllergyIntolerance': {
      const a = resource as AllergyIntolerance;
      const reaction = (a.reaction ?? []).flatMap((r) => (r.manifestation ?? []).map((m) => textOf(m))).filter(Boolean).join(', ');
      return [textOf(a.code) ?? 'Alergia', reaction ? `reacción: ${reaction}` : `criticidad: ${statusText(a.criticality) ?? '—'}`, statusText(a.clinicalStatus?.coding?.[0]?.code) ?? '', date];
    }
    case 'MedicationRequest':
    case 'MedicationStatement': {
      const m = resource as MedicationRequest | MedicationStatement;
      const dose = (m.resourceType === 'MedicationRequest' ? m.dosageInstruction : m.dosage)?.map((d) => d.text).filter(Boolean).join('; ') ?? '';
      return [medicationText(m, resolve), dose, statusText(m.status) ?? '', date];
    }
    case 'Procedure': {
      const p = resource as Procedure;
      return [textOf(p.code) ?? 'Procedimiento', '', statusText(p.status) ?? '', date];
    }
    case 'Observation': {
      const o = resource as Observation;
      const components = (o.component ?? []).map((c) => `${textOf(c.code) ?? ''}: ${c.valueQuantity?.value ?? textOf(c.valueCodeableConcept) ?? ''} ${c.valueQuantity?.unit ?? ''}`.trim());
      return [textOf(o.code) ?? 'Observación', observationValueText(o) ?? components.join('; '), statusText(o.status) ?? '', date];
    }
    case 'ServiceRequest': {
      const r = resource as ServiceRequest;
      const reason = (r.reasonCode ?? []).map((c) => textOf(c)).filter(Boolean).join(', ');
      return [`Referencia a ${textOf(r.performerType) ?? 'especialidad'}`, reason, statusText(r.status) ?? '', date];
    }
    case 'Composition': {
      const c = resource as Composition;
      return [c.title, textOf(c.type) ?? '', statusText(c.status) ?? '', date];
    }
    default:
      return [antecedentText(resource), '', '', date];
  }
}
