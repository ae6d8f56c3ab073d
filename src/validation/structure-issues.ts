/**
 * Medplum's structure validator reports in English with generic paths
 * (`Observation.value[x].value`). Clinic developers read Spanish first and
 * need the property they actually sent, so each issue is rewritten here:
 * bilingual text and a concrete path (`Observation.valueQuantity.value`).
 */
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { bilingual } from '../fhir/errors.ts';

type Translation = [RegExp, (m: RegExpMatchArray, path: string) => string];

const translations: Translation[] = [
  [/^Invalid additional property "(.+)"$/, (m, p) => `Elemento desconocido "${m[1]}" en ${p}: no existe en la definición R4`],
  [/^Missing required property$/, (_m, p) => `Falta el elemento obligatorio ${p}`],
  [/^Invalid JSON type: expected (\w+), but got (\w+)$/, (m, p) => `Tipo JSON incorrecto en ${p}: se esperaba ${m[1]} y llegó ${m[2]}`],
  [/^Invalid JSON type: (.+) is not a valid FHIR type$/, (m, p) => `Tipo JSON incorrecto en ${p}: ${m[1]} no es un tipo FHIR válido`],
  [/^Invalid (\w+) format$/, (m, p) => `Formato ${m[1]} inválido en ${p}`],
  [/^Invalid (\w+) value$/, (m, p) => `Valor ${m[1]} inválido en ${p} (fecha u hora inexistente)`],
  [/^Expected array of values for property$/, (_m, p) => `${p} admite varios valores: envíe un arreglo JSON`],
  [/^Expected single value for property$/, (_m, p) => `${p} admite un solo valor: no envíe un arreglo`],
  [/^Invalid number of values: expected (\S+)$/, (m, p) => `Número de valores incorrecto en ${p}: se esperaban ${m[1]}`],
  [/^Expected number to be an integer$/, (_m, p) => `${p} debe ser un número entero`],
  [/^Expected number to be in the range (.+)$/, (m, p) => `${p} debe estar en el rango ${m[1]}`],
  [/^Invalid numeric value$/, (_m, p) => `Valor numérico inválido en ${p}`],
  [/^Invalid empty value$/, (_m, p) => `${p} no puede estar vacío`],
  [/^Invalid empty non-primitive value$/, (_m, p) => `${p} no puede ser un objeto vacío`],
  [/^Invalid null value$/, (_m, p) => `${p} no puede ser null`],
  [/^String must contain non-whitespace content$/, (_m, p) => `${p} no puede contener solo espacios`],
  [/^String cannot be larger than 1 MB$/, (_m, p) => `${p} excede 1 MB`],
  [/^Value did not match expected pattern$/, (_m, p) => `${p} no tiene el formato esperado`],
  [/^Invalid base64Binary format$/, (_m, p) => `${p} no es base64 válido`],
  [/^Constraint (\S+) not met: (.+)$/, (m, p) => `No se cumple la regla ${m[1]} en ${p}: ${m[2]}`],
];

function spanish(english: string, path: string): string {
  for (const [pattern, render] of translations) {
    const match = english.match(pattern);
    if (match) {
      return render(match, path);
    }
  }
  return `Recurso inválido en ${path}`;
}

/**
 * Resolves `[x]` segments of a FHIRPath-like location against the resource,
 * so `Observation.effective[x]` becomes `Observation.effectiveDateTime`.
 */
export function concretePath(resource: unknown, path: string): string {
  const segments = path.split('.');
  let node: unknown = resource;
  const out = [segments[0] ?? ''];
  for (const segment of segments.slice(1)) {
    const match = /^([^[]+?)(\[x\])?(?:\[(\d+)\])?$/.exec(segment);
    if (!match || node === null || typeof node !== 'object') {
      out.push(segment);
      node = undefined;
      continue;
    }
    const [, name = '', choice, index] = match;
    let key = name;
    if (choice) {
      key = Object.keys(node).find((k) => k.length > name.length && k.startsWith(name) && /[A-Z]/.test(k.charAt(name.length))) ?? `${name}[x]`;
    }
    node = (node as Record<string, unknown>)[key];
    if (index !== undefined) {
      node = Array.isArray(node) ? node[Number(index)] : undefined;
      key += `[${index}]`;
    }
    out.push(key);
  }
  return out.join('.');
}

export function translateStructureIssue(resource: unknown, medplum: OperationOutcomeIssue): OperationOutcomeIssue {
  const english = medplum.details?.text ?? medplum.diagnostics ?? 'Invalid resource';
  const expression = (medplum.expression ?? []).map((e) => concretePath(resource, e));
  const where = expression[0] ?? (resource as { resourceType?: string }).resourceType ?? 'Resource';
  const translated: OperationOutcomeIssue = {
    severity: medplum.severity,
    code: medplum.code,
    details: { text: bilingual({ es: spanish(english, where), en: `${english} at ${where}` }) },
  };
  if (expression.length) {
    translated.expression = expression;
  }
  if (medplum.diagnostics) {
    translated.diagnostics = medplum.diagnostics;
  }
  return translated;
}
