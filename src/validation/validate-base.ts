/**
 * Base validation of every write against the FHIR R4 structure definitions:
 * shape, unknown elements, primitive formats, JSON types, cardinality,
 * invariants (Medplum's validator), plus what it leaves out: required
 * bindings on codes and the `id` format. Returns one issue per problem, all
 * bilingual with the element path; an empty list means valid.
 * https://hl7.org/fhir/R4/validation.html
 */
import { getAllDataTypes, OperationOutcomeError, validateResource } from '@medplum/core';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { isResourceType, loadDefinitions } from '../fhir/definitions.ts';
import { issue } from '../fhir/errors.ts';
import { checkElementRules, prepareElementRules } from './element-rules.ts';
import { applyR4Errata } from './r4-errata.ts';
import { checkRequiredBindings, prepareRequiredBindings } from './required-bindings.ts';
import { compileProfile } from './profiles/compile-profile.ts';
import { ourStructureDefinitions } from './profiles/registry.ts';
import { prepareSurelyValid, surelyValid } from './surely-valid.ts';
import { releaseTerminologySources } from './value-sets.ts';
import { translateStructureIssue } from './structure-issues.ts';

const idPattern = /^[A-Za-z0-9\-.]{1,64}$/;

function shapeIssue(body: unknown, expectedType: string): OperationOutcomeIssue | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return issue('structure', { es: `El cuerpo debe ser un objeto JSON con un recurso ${expectedType}`, en: `The body must be a JSON object holding a ${expectedType} resource` });
  }
  const type = (body as { resourceType?: unknown }).resourceType;
  if (type === undefined) {
    return issue('required', { es: `Falta resourceType: se espera "${expectedType}"`, en: `Missing resourceType: "${expectedType}" is expected` }, 'resourceType');
  }
  if (typeof type !== 'string' || !isResourceType(type)) {
    return issue('not-supported', { es: `resourceType desconocido "${String(type)}": no es un recurso FHIR R4`, en: `Unknown resourceType "${String(type)}": not an R4 resource` }, 'resourceType');
  }
  if (type !== expectedType) {
    return issue('invalid', { es: `resourceType "${type}" no coincide con la URL, que espera "${expectedType}"`, en: `resourceType "${type}" does not match the URL, which expects "${expectedType}"` }, 'resourceType');
  }
  return undefined;
}

function idIssues(resource: Resource): OperationOutcomeIssue[] {
  const out: OperationOutcomeIssue[] = [];
  const check = (id: unknown, path: string): void => {
    if (id !== undefined && (typeof id !== 'string' || !idPattern.test(id))) {
      out.push(issue('value', { es: `Id inválido en ${path}: solo letras, dígitos, "-" y ".", hasta 64 caracteres`, en: `Invalid id at ${path}: only letters, digits, "-" and ".", up to 64 characters` }, path));
    }
  };
  check(resource.id, `${resource.resourceType}.id`);
  const contained = (resource as { contained?: unknown }).contained;
  if (Array.isArray(contained)) {
    contained.forEach((c: unknown, i) => check((c as { id?: unknown } | null)?.id, `${resource.resourceType}.contained[${i}].id`));
  }
  return out;
}

/**
 * Medplum judgements that R4 does not make, checked instead by element-rules.ts: base64Binary
 * without whitespace (the R4 regex allows it), and the 1 MB limit of `string` applied to
 * Narrative.div, whose type is xhtml, not string.
 */
function overruled(i: OperationOutcomeIssue): boolean {
  const text = i.details?.text ?? '';
  return text === 'Invalid base64Binary format' || (text === 'String cannot be larger than 1 MB' && (i.expression ?? []).some((e) => e.endsWith('.div')));
}

function structureIssues(resource: Resource): OperationOutcomeIssue[] {
  let issues: OperationOutcomeIssue[];
  try {
    // Medplum reports problems by throwing; warnings come back in the list.
    issues = validateResource(resource).filter((i) => i.severity === 'error' || i.severity === 'fatal');
  } catch (err) {
    if (!(err instanceof OperationOutcomeError)) throw err;
    issues = err.outcome.issue;
  }
  return issues.filter((i) => !overruled(i)).map((i) => translateStructureIssue(resource, i));
}

let errataApplied = false;

function ready(): void {
  loadDefinitions();
  if (!errataApplied) {
    applyR4Errata();
    errataApplied = true;
  }
}

/** Validates `body` as an R4 resource of `expectedType`; returns the problems found (empty when valid). */
export function validateBase(body: unknown, expectedType: string): OperationOutcomeIssue[] {
  ready();
  const shape = shapeIssue(body, expectedType);
  if (shape) {
    return [shape];
  }
  const resource = body as Resource;
  const ids = idIssues(resource);
  // The fast path answers only "surely valid"; on anything else the full validation gives the issues.
  if (ids.length === 0 && surelyValid(resource)) return [];
  return [...ids, ...fullIssues(resource)];
}

/** validateBase without its fast path (tests compare the two). */
export function validateBaseFully(body: unknown, expectedType: string): OperationOutcomeIssue[] {
  ready();
  const shape = shapeIssue(body, expectedType);
  if (shape) return [shape];
  const resource = body as Resource;
  return [...idIssues(resource), ...fullIssues(resource)];
}

function fullIssues(resource: Resource): OperationOutcomeIssue[] {
  return [...structureIssues(resource), ...checkElementRules(resource), ...checkRequiredBindings(resource)];
}

/**
 * Loads definitions and builds every validation plan up front, so the first
 * write does not pay for it (~1 s); then frees the R4 terminology the plans
 * were expanded from (~25 MB of the resting heap). A value set not expanded
 * here is read again if it is ever needed.
 */
export function prepareValidation(): void {
  validateBase({ resourceType: 'Patient', gender: 'unknown' }, 'Patient');
  prepareRequiredBindings();
  prepareElementRules();
  prepareSurelyValid(Object.keys(getAllDataTypes()));
  for (const definition of ourStructureDefinitions()) {
    if (definition.url) compileProfile(definition.url);
  }
  releaseTerminologySources();
}
