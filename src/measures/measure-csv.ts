/**
 * A summary MeasureReport as CSV for spreadsheets: one row per stratum (and
 * one for each group's total), RFC 4180 quoting, UTF-8 with BOM so
 * spreadsheet programs read accents right. Pure.
 */
import type { CodeableConcept, MeasureReport, MeasureReportGroupStratifierStratum } from '@medplum/fhirtypes';
import { p90Extension } from './measure-report.ts';

export const csvHeader = ['medida', 'periodo_inicio', 'periodo_fin', 'grupo', 'estratificador', 'valor', 'codigo', 'conteo', 'mediana_dias', 'p90_dias'];

export function csvField(value: string | number | undefined): string {
  const text = value === undefined ? '' : String(value);
  return /[",\r\n]/.test(text) || /^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const label = (cc: CodeableConcept | undefined) => cc?.text ?? cc?.coding?.[0]?.display ?? cc?.coding?.[0]?.code ?? '';
const code = (cc: CodeableConcept | undefined) => cc?.coding?.[0]?.code ?? '';

function stratumLabel(s: MeasureReportGroupStratifierStratum): { value: string; code: string } {
  if (s.value) return { value: label(s.value), code: code(s.value) };
  const parts = s.component ?? [];
  return { value: parts.map((c) => label(c.value)).join(' | '), code: parts.map((c) => code(c.value)).join(' | ') };
}

export function measureReportCsv(report: MeasureReport): string {
  const lines = [csvHeader.join(',')];
  const row = (fields: (string | number | undefined)[]) => lines.push(fields.map(csvField).join(','));
  const period = [report.period?.start, report.period?.end];
  for (const group of report.group ?? []) {
    const p90 = (ext: { url: string; valueQuantity?: { value?: number } }[] | undefined) => ext?.find((e) => e.url === p90Extension)?.valueQuantity?.value;
    row([report.measure, ...period, group.code?.text, 'total', 'Total', '', group.population?.[0]?.count, group.measureScore?.value, p90(group.extension)]);
    for (const strat of group.stratifier ?? []) {
      for (const s of strat.stratum ?? []) {
        const { value, code: c } = stratumLabel(s);
        row([report.measure, ...period, group.code?.text, label(strat.code?.[0]), value, c, s.population?.[0]?.count, s.measureScore?.value, p90(s.extension)]);
      }
    }
  }
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}
