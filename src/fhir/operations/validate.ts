/**
 * $validate at type and instance level (https://hl7.org/fhir/R4/resource-operation-validate.html):
 * runs the same base and profile validation as a write and answers the
 * OperationOutcome, storing nothing. Body: the resource itself, or a
 * Parameters with `resource`, `mode` and `profile`; `mode` and `profile` may
 * also come as query parameters. mode = create | update | delete.
 */
import type { OperationDefinition, OperationOutcomeIssue, Parameters, Resource } from '@medplum/fhirtypes';
import { badRequest, issue, outcome } from '../errors.ts';
import { readExisting } from '../read.ts';
import type { FhirContext, FhirRequest, FhirResult } from '../types.ts';

export const validateOperationDefinition: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'Resource-validate',
  url: 'http://hl7.org/fhir/OperationDefinition/Resource-validate',
  name: 'validate',
  status: 'active',
  kind: 'operation',
  code: 'validate',
  resource: ['Resource' as NonNullable<OperationDefinition['resource']>[number]],
  system: false,
  type: true,
  instance: true,
  parameter: [
    { name: 'resource', use: 'in', min: 0, max: '1', type: 'Resource' },
    { name: 'mode', use: 'in', min: 0, max: '1', type: 'code' },
    { name: 'profile', use: 'in', min: 0, max: '1', type: 'uri' },
    { name: 'return', use: 'out', min: 1, max: '1', type: 'OperationOutcome' },
  ],
};

const modes = new Set(['create', 'update', 'delete']);

interface ValidateInput {
  resource?: unknown;
  mode?: string;
  profile?: string;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function readInput(req: FhirRequest): ValidateInput {
  const body = req.body as { resourceType?: unknown } | undefined;
  const input: ValidateInput = { mode: first(req.query.mode), profile: first(req.query.profile) };
  if (body?.resourceType === 'Parameters' && req.resourceType !== 'Parameters') {
    for (const p of (body as Parameters).parameter ?? []) {
      if (p.name === 'resource') input.resource = p.resource;
      else if (p.name === 'mode') input.mode = p.valueCode ?? p.valueString ?? input.mode;
      else if (p.name === 'profile') input.profile = p.valueUri ?? p.valueCanonical ?? p.valueString ?? input.profile;
    }
  } else {
    input.resource = req.body;
  }
  return input;
}

export async function validateOperation(req: FhirRequest, ctx: FhirContext): Promise<FhirResult> {
  const type = req.resourceType ?? '';
  const input = readInput(req);
  const mode = input.mode ?? 'create';
  if (!modes.has(mode)) {
    throw badRequest({ es: `mode "${mode}" no es válido: create, update o delete`, en: `mode "${mode}" is not valid: create, update or delete` }, 'mode');
  }
  const issues: OperationOutcomeIssue[] = [];
  if (mode === 'delete') {
    if (req.id === undefined) {
      throw badRequest({ es: '$validate con mode=delete requiere una instancia: POST [tipo]/[id]/$validate', en: '$validate with mode=delete needs an instance: POST [type]/[id]/$validate' }, 'mode');
    }
    await readExisting(req, ctx);
  } else {
    if (input.resource === undefined || input.resource === null) {
      throw badRequest({ es: `Falta el recurso ${type} a validar`, en: `Missing the ${type} resource to validate` }, 'resource');
    }
    if (mode === 'update') {
      const id = (input.resource as { id?: unknown }).id;
      if (id === undefined) {
        issues.push(issue('required', { es: `mode=update: el recurso debe llevar id`, en: 'mode=update: the resource must carry an id' }, `${type}.id`));
      } else if (req.id !== undefined && id !== req.id) {
        issues.push(issue('invalid', { es: `El id del cuerpo ("${String(id)}") no coincide con el de la URL ("${req.id}")`, en: `Body id ("${String(id)}") does not match the URL id ("${req.id}")` }, `${type}.id`));
      }
    }
    const base = ctx.validate(input.resource, type);
    issues.push(...base);
    if (!base.some((i) => i.severity === 'error' || i.severity === 'fatal')) {
      issues.push(...((await ctx.validateProfiles?.(input.resource as Resource, ctx, input.profile ? [input.profile] : undefined)) ?? []));
    }
  }
  if (issues.length === 0) {
    issues.push(issue('informational', { es: 'Sin problemas: el recurso es válido', en: 'No issues: the resource is valid' }, undefined, 'information'));
  }
  return { status: 200, body: outcome(issues) };
}
