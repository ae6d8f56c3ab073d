import { describe, expect, test } from 'vitest';
import { isFhirError } from '../fhir/errors.ts';
import { withParameters } from '../fhir/operations/by-post.ts';
import { findMeasure, measureDefs, measureResource } from './definitions.ts';
import { csvField, measureReportCsv } from './measure-csv.ts';
import { collectParameters, parseMeasureParameters, selectStratifiers } from './measure-parameters.ts';
import { measureReport } from './measure-report.ts';
import { groupingMask, usedDimensions, type MeasureRow } from './measure-sql.ts';

function refusal(f: () => unknown): { status: number; expression?: string[] } {
  try {
    f();
  } catch (e) {
    if (isFhirError(e)) return { status: e.status, expression: e.outcome.issue?.[0]?.expression };
    throw e;
  }
  throw new Error('no refusal');
}

describe('grouping masks', () => {
  test('one bit per used dimension, most significant first, 1 = not grouped', () => {
    const used = usedDimensions([['unidad'], ['unidad', 'especialidad'], ['semana']]);
    expect(used).toEqual(['unidad', 'especialidad', 'semana']);
    expect(groupingMask([], used)).toBe(0b111);
    expect(groupingMask(['unidad'], used)).toBe(0b011);
    expect(groupingMask(['unidad', 'especialidad'], used)).toBe(0b001);
    expect(groupingMask(['semana'], used)).toBe(0b110);
    expect(groupingMask([], [])).toBe(0);
  });
});

describe('parameters', () => {
  const parse = (query: Record<string, string | string[]>, body?: unknown) => parseMeasureParameters(collectParameters(withParameters(query, body)));

  test('period as [start, end of periodEnd]; stratifiers comma-separated or repeated', () => {
    const p = parse({ periodStart: '2026-11-30', periodEnd: '2026-12-06', stratifier: ['unidad,nivel', 'semana'] });
    expect(p.from.toISOString()).toBe('2026-11-30T00:00:00.000Z');
    expect(p.to.toISOString()).toBe('2026-12-07T00:00:00.000Z');
    expect(p.stratifier).toEqual(['unidad', 'nivel', 'semana']);
  });

  test('a Parameters body gives the same as the query', () => {
    const p = parse({}, { resourceType: 'Parameters', parameter: [{ name: 'periodStart', valueDate: '2026-12' }, { name: 'periodEnd', valueDate: '2026-12' }, { name: 'subject', valueReference: { reference: 'Organization/x1' } }] });
    expect(p.from.toISOString()).toBe('2026-12-01T00:00:00.000Z');
    expect(p.to.toISOString()).toBe('2027-01-01T00:00:00.000Z');
    expect(p.subject).toBe('Organization/x1');
  });

  test('refusals name the parameter', () => {
    expect(refusal(() => parse({ periodEnd: '2026-12-06' }))).toEqual({ status: 400, expression: ['periodStart'] });
    expect(refusal(() => parse({ periodStart: '2026-12-06', periodEnd: ['2026-12-06', '2026-12-07'] }))).toEqual({ status: 400, expression: ['periodEnd'] });
    expect(refusal(() => parse({ periodStart: '2026-12-06', periodEnd: '2026-12-07', reportType: 'subject-list' }))).toEqual({ status: 400, expression: ['reportType'] });
    expect(refusal(() => parse({}, { resourceType: 'Bundle' }))).toEqual({ status: 400, expression: ['Parameters'] });
    const consultas = findMeasure('consultas')!;
    expect(refusal(() => selectStratifiers(consultas, ['modalidad']))).toEqual({ status: 400, expression: ['stratifier'] });
    expect(selectStratifiers(consultas, undefined).length).toBe(consultas.stratifiers.length);
  });
});

describe('definitions', () => {
  test('found by id or canonical URL (with or without version)', () => {
    expect(findMeasure('https://ecu-fhir.org/fhir/Measure/referencias|0.1.0')?.id).toBe('referencias');
    expect(findMeasure('nada')).toBeUndefined();
    for (const d of measureDefs) expect(measureResource(d).group?.[0]?.stratifier?.length).toBe(d.stratifiers.length);
  });
});

describe('report and CSV', () => {
  const def = findMeasure('referencias')!;
  const stratifiers = selectStratifiers(def, ['estado', 'unidad-especialidad']);
  const used = usedDimensions(stratifiers.map((s) => s.dimensions));
  const row = (values: MeasureRow['values'], count: number, measured = 0, median: string | null = null, p90: string | null = null): MeasureRow => {
    const set = Object.keys(values) as (keyof MeasureRow['values'])[];
    return { mask: groupingMask(set, used), count, measured, median, p90, values };
  };
  const rows = [
    row({}, 5, 2, '3.5', '4.7'),
    row({ estado: 'completed' }, 2, 2, '3.5', '4.7'),
    row({ estado: 'requested' }, 3),
    row({ unidad: 'DFSSA000001', especialidad: null }, 5, 2, '3.5', '4.7'),
  ];
  const report = measureReport({ def, stratifiers, rows, displays: { unidad: new Map([['DFSSA000001', 'Hospital, "Norte"']]) }, periodStart: '2026-12-01', periodEnd: '2026-12-07', now: new Date('2026-12-08T00:00:00Z') });

  test('totals, strata most frequent first, components, the turnaround group', () => {
    const [all, turnaround] = report.group ?? [];
    expect(all?.population?.[0]?.count).toBe(5);
    expect(all?.stratifier?.[0]?.stratum?.map((s) => [s.value?.coding?.[0]?.code, s.value?.text, s.population?.[0]?.count])).toEqual([
      ['requested', 'Solicitada', 3],
      ['completed', 'Concluida', 2],
    ]);
    expect(all?.stratifier?.[1]?.stratum?.[0]?.component?.map((c) => c.value.text)).toEqual(['Hospital, "Norte"', 'Sin dato']);
    expect(turnaround?.population?.[0]?.count).toBe(2);
    expect(turnaround?.measureScore?.value).toBe(3.5);
    expect(turnaround?.extension?.[0]?.valueQuantity?.value).toBe(4.7);
  });

  test('CSV quotes what needs quoting, one line per stratum and per total', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField(3)).toBe('3');
    const lines = measureReportCsv(report).replace(/^\uFEFF/, '').trim().split('\r\n');
    expect(lines.length).toBe(1 + 2 * (1 + 2 + 1));
    expect(lines).toContain('https://ecu-fhir.org/fhir/Measure/referencias,2026-12-01,2026-12-07,Referencias y tiempo de respuesta,Unidad receptora y especialidad,"Hospital, ""Norte"" | Sin dato",DFSSA000001 | sin-dato,5,,');
    expect(lines.filter((l) => l.includes(',total,Total,'))).toHaveLength(2);
  });
});
