/**
 * Required bindings on `code` elements (e.g. Patient.gender ∈
 * administrative-gender): the part of base validation that Medplum's
 * validator leaves out. Walks only the properties present in the resource,
 * following the R4 type definitions into data types, backbone elements and
 * contained/inline resources. https://hl7.org/fhir/R4/terminologies.html#required
 */
import { getAllDataTypes, isPrimitiveType } from '@medplum/core';
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { issue } from '../fhir/errors.ts';
import { elementPlan } from './element-plan.ts';
import { isResourceType } from '../fhir/definitions.ts';
import { valueSetCodes } from './value-sets.ts';

export type BindingStep =
  | { kind: 'code'; valueSet: string; codes: ReadonlySet<string> }
  | { kind: 'type'; type: string }
  | { kind: 'resource' };

const plans = new Map<string, ReadonlyMap<string, BindingStep>>();

/** Per type: for each JSON key that can hold a bound code or lead to one, what to do with it. */
export function bindingPlan(type: string): ReadonlyMap<string, BindingStep> {
  return elementPlan<BindingStep>(plans, type, (element, code) => {
    if (code === 'code' && element.binding?.strength === 'required' && element.binding.valueSet) {
      const codes = valueSetCodes(element.binding.valueSet);
      return codes ? { kind: 'code', valueSet: element.binding.valueSet.split('|')[0] ?? '', codes } : undefined;
    }
    if (code === 'Resource') return { kind: 'resource' };
    if (!isPrimitiveType(code) && !code.startsWith('http://')) return { kind: 'type', type: code };
    return undefined;
  });
}

function describeCodes(codes: ReadonlySet<string>): string {
  const list = [...codes];
  return list.length <= 12 ? list.join(', ') : `${list.slice(0, 12).join(', ')}, …`;
}

function checkValue(value: unknown, step: BindingStep, path: string, out: OperationOutcomeIssue[]): void {
  if (step.kind === 'code') {
    if (typeof value === 'string' && !step.codes.has(value)) {
      out.push(
        issue(
          'code-invalid',
          {
            es: `Código "${value}" no permitido en ${path}: debe ser uno de ${describeCodes(step.codes)} (${step.valueSet})`,
            en: `Code "${value}" is not allowed in ${path}: it must be one of ${describeCodes(step.codes)} (${step.valueSet})`,
          },
          path,
        ),
      );
    }
  } else if (value !== null && typeof value === 'object') {
    if (step.kind === 'resource') {
      const type = (value as { resourceType?: unknown }).resourceType;
      if (typeof type === 'string' && isResourceType(type)) {
        walk(value as Record<string, unknown>, type, path, out);
      }
    } else {
      walk(value as Record<string, unknown>, step.type, path, out);
    }
  }
}

function walk(node: Record<string, unknown>, type: string, path: string, out: OperationOutcomeIssue[]): void {
  const plan = bindingPlan(type);
  for (const key of Object.keys(node)) {
    const step = plan.get(key);
    if (!step) {
      continue;
    }
    const value = node[key];
    if (Array.isArray(value)) {
      value.forEach((item, i) => checkValue(item, step, `${path}.${key}[${i}]`, out));
    } else {
      checkValue(value, step, `${path}.${key}`, out);
    }
  }
}

/** Builds the plan of every known type now (start-up), so their value sets are expanded while the sources are loaded. */
export function prepareRequiredBindings(): void {
  for (const type of Object.keys(getAllDataTypes())) bindingPlan(type);
}

/** One `code-invalid` issue per code that is outside its required value set. */
export function checkRequiredBindings(resource: { resourceType: string }): OperationOutcomeIssue[] {
  const out: OperationOutcomeIssue[] = [];
  walk(resource as unknown as Record<string, unknown>, resource.resourceType, resource.resourceType, out);
  return out;
}
