/**
 * GET MedicationRequest/$pharmacy-queue?curp=…|folio=…|date=…: the active,
 * signed, unexpired prescriptions a pharmacy may dispense, as a searchset
 * Bundle (newest first, `_count` honoured). A dedicated operation until the
 * generic search (MedicationRequest?…) covers the same ground.
 */
import type { Bundle, MedicationRequest, OperationDefinition } from '@medplum/fhirtypes';
import { rowAccessFor } from '../../auth/readable.ts';
import { pharmacyQueue } from '../../receta/queue.ts';
import { parseCount } from '../params.ts';
import type { FhirContext, FhirRequest, FhirResult } from '../types.ts';

export const pharmacyQueueOperationDefinition: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'MedicationRequest-pharmacy-queue',
  url: 'https://ecu-fhir.org/fhir/OperationDefinition/MedicationRequest-pharmacy-queue',
  name: 'pharmacyQueue',
  title: 'Recetas por surtir / Prescriptions to dispense',
  status: 'active',
  kind: 'operation',
  code: 'pharmacy-queue',
  affectsState: false,
  resource: ['MedicationRequest'],
  system: false,
  type: true,
  instance: false,
  parameter: [
    { name: 'curp', use: 'in', min: 0, max: '*', type: 'string' },
    { name: 'folio', use: 'in', min: 0, max: '*', type: 'token' as 'string' },
    { name: 'date', use: 'in', min: 0, max: '*', type: 'date' },
    { name: 'return', use: 'out', min: 1, max: '1', type: 'Bundle' },
  ],
};

export async function pharmacyQueueOperation(req: FhirRequest, ctx: FhirContext): Promise<FhirResult> {
  const contents = await pharmacyQueue(ctx.db, req.query, ctx.now(), parseCount(req.query), rowAccessFor(ctx.actor));
  const body: Bundle = {
    resourceType: 'Bundle',
    type: 'searchset',
    entry: contents.map((c) => {
      const resource = JSON.parse(c) as MedicationRequest;
      return { fullUrl: `${ctx.baseUrl}/MedicationRequest/${resource.id ?? ''}`, resource, search: { mode: 'match' as const } };
    }),
  };
  return { status: 200, body };
}
