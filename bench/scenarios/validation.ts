/**
 * In-process cost of validating a write: base R4 validation plus the MX
 * profile (strict), as create/update run it, without HTTP or the database.
 * Median and p99 of many single validations after a warm-up.
 */
import type { Resource } from '@medplum/fhirtypes';
import { validateBase } from '../../src/validation/validate-base.ts';
import { validateProfiles } from '../../src/validation/validate-profiles.ts';
import { mexicanPatient, weightObservation } from '../fixtures.ts';

export interface ValidationMeasure {
  name: string;
  medianUs: number;
  p99Us: number;
  runs: number;
}

async function measure(name: string, make: () => Resource, runs = 5000): Promise<ValidationMeasure> {
  const validateOnce = async (): Promise<void> => {
    const r = make();
    if (validateBase(r, r.resourceType).length > 0 || (await validateProfiles(r, { enforcement: 'strict' })).some((i) => i.severity === 'error')) {
      throw new Error(`${name}: the bench fixture does not conform`);
    }
  };
  for (let i = 0; i < 500; i++) await validateOnce();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await validateOnce();
    times.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => Math.round(times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0);
  const m = { name, medianUs: at(0.5), p99Us: at(0.99), runs };
  console.log(`${name.padEnd(34)} median ${m.medianUs} µs  p99 ${m.p99Us} µs`);
  return m;
}

export async function validationScenarios(): Promise<ValidationMeasure[]> {
  return [
    await measure('validate MX Patient (base + profile)', () => mexicanPatient(1) as Resource),
    await measure('validate MX body weight Observation', () => weightObservation('p1') as Resource),
  ];
}
