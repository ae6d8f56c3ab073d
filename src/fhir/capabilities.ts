/**
 * GET /metadata: the CapabilityStatement, generated from the route list and
 * the R4 definitions (https://hl7.org/fhir/R4/capabilitystatement.html).
 */
import type { CapabilityStatement, CapabilityStatementRestInteraction, CapabilityStatementRestResource, CapabilityStatementRestResourceInteraction } from '@medplum/fhirtypes';
import { profiledTypes } from '../validation/validate-profiles.ts';
import { resourceTypes } from './definitions.ts';
import { everythingOperationDefinition } from './operations/everything.ts';
import { validateOperationDefinition } from './operations/validate.ts';
import { tokenPath } from '../auth/server/token-endpoint.ts';
import { exportOperationDefinition, groupExportOperationDefinition, patientExportOperationDefinition } from './operations/export.ts';
import { matchOperationDefinition } from './operations/match.ts';
import { searchCapabilities } from '../search/search-capabilities.ts';
import { pharmacyQueueOperationDefinition } from './operations/pharmacy-queue.ts';
import { signOperationDefinition } from './operations/sign.ts';
import { verifyOperationDefinition } from './operations/verify-signature.ts';
import { evaluateMeasureOperationDefinition } from './operations/evaluate-measure.ts';
import { measureDefs, measureUrl } from '../measures/definitions.ts';

/** Operations of one resource type besides $validate. */
const typeOperations: Record<string, { name: string; definition: string }[]> = {
  Subscription: [statusOperationDefinition, eventsOperationDefinition].map((d) => ({ name: d.code ?? '', definition: d.url ?? '' })),
  MedicationRequest: [signOperationDefinition, verifyOperationDefinition, pharmacyQueueOperationDefinition].map((d) => ({ name: d.code ?? '', definition: d.url ?? '' })),
  Measure: [{ name: evaluateMeasureOperationDefinition.code ?? '', definition: evaluateMeasureOperationDefinition.url ?? '' }],
};
import { resumenMedicoOperationDefinition, summaryOperationDefinition } from './operations/summary.ts';
import type { ImplementedInteractions } from './routes.ts';
import { eventsOperationDefinition, statusOperationDefinition } from '../subscriptions/operations.ts';
import { topics } from '../subscriptions/topics.ts';

/** The Backport IG's way to list topics in R4: extensions on the Subscription resource entry. */
const topicExtensionUrl = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/capabilitystatement-subscriptiontopic-canonical';
import type { FhirContext, FhirRequest, FhirResult, Interaction } from './types.ts';

export const serverVersion = '0.1.0';
const started = new Date().toISOString();
/**
 * The route table passes its own interactions in (as it does to the bundle
 * handler), so this module does not import the table that imports it.
 */
export function capabilities(interactions: () => ImplementedInteractions): Interaction {
  let cached: { baseUrl: string; json: string } | undefined;
  return async (_req: FhirRequest, ctx: FhirContext): Promise<FhirResult> => {
    if (cached?.baseUrl !== ctx.baseUrl) {
      cached = { baseUrl: ctx.baseUrl, json: JSON.stringify(buildCapabilityStatement(ctx.baseUrl, interactions())) };
    }
    return { status: 200, body: cached.json };
  };
}

export function buildCapabilityStatement(baseUrl: string, implemented: ImplementedInteractions): CapabilityStatement {
  const { system, type, fixed } = implemented;
  const profiles = profiledTypes();
  const search = searchCapabilities(resourceTypes());
  const resource: CapabilityStatementRestResource[] = resourceTypes().map((t) => ({
    ...(t === 'Subscription' ? { extension: topics.map((topic) => ({ url: topicExtensionUrl, valueCanonical: topic.url })) } : {}),
    type: t as CapabilityStatementRestResource['type'],
    ...(profiles[t] ? { supportedProfile: profiles[t] } : {}),
    interaction: (fixed.get(t) ?? type).map((code) => ({ code: code as CapabilityStatementRestResourceInteraction['code'] })),
    versioning: 'versioned-update',
    readHistory: true,
    updateCreate: true,
    conditionalCreate: true,
    conditionalRead: 'full-support',
    conditionalUpdate: true,
    conditionalDelete: 'single',
    operation: [
      { name: 'validate', definition: validateOperationDefinition.url ?? '' },
      ...(t === 'Patient'
        ? [everythingOperationDefinition, summaryOperationDefinition, resumenMedicoOperationDefinition, patientExportOperationDefinition, matchOperationDefinition].map((d) => ({
            name: d.code ?? '',
            definition: d.url ?? '',
          }))
        : []),
      ...(t === 'Group' ? [{ name: 'export', definition: groupExportOperationDefinition.url ?? '' }] : []),
      ...(typeOperations[t] ?? []),
    ],
    ...search.get(t),
    ...(t === 'Measure' ? { documentation: `Medidas integradas, de solo lectura / Built-in measures, read-only: ${measureDefs.map((d) => measureUrl(d)).join(', ')}` } : {}),
  }));
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: started,
    publisher: 'ECU FHIR',
    kind: 'instance',
    software: { name: 'ECU FHIR (Expediente Clínico Único)', version: serverVersion },
    implementation: { description: 'Servidor FHIR R4 del Expediente Clínico Único / FHIR R4 server for the Expediente Clínico Único', url: baseUrl },
    fhirVersion: '4.0.1',
    format: ['json', 'application/fhir+json', 'application/json'],
    patchFormat: ['application/json-patch+json'],
    rest: [
      {
        mode: 'server',
        security: {
          cors: true,
          // SMART App Launch: the token endpoint (built-in, for system clients) as the oauth-uris extension.
          extension: [{ url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris', extension: [{ url: 'token', valueUri: `${new URL(baseUrl).origin}${tokenPath}` }] }],
          service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR', display: 'SMART-on-FHIR' }], text: 'OAuth2 using SMART-on-FHIR profile (see http://docs.smarthealthit.org)' }],
          description: 'Bearer JWT con scopes SMART v1/v2 y roles ECU; ver /.well-known/smart-configuration / Bearer JWT with SMART v1/v2 scopes and ECU roles; see /.well-known/smart-configuration',
        },
        resource,
        interaction: system.map((code) => ({ code: code as CapabilityStatementRestInteraction['code'] })),
        operation: [{ name: 'export', definition: exportOperationDefinition.url ?? '' }],
      },
    ],
  };
}
