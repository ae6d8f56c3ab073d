/**
 * `node bench/validation-cost.ts`: the in-process cost of what a create does
 * to its body before the database, without HTTP, briefly (a few seconds):
 * validation (base R4 with Medplum, element rules and data-type invariants,
 * narrative XHTML, required bindings, the MX profile) and lossless JSON
 * (parsing a body whose decimals keep their text, and writing it back).
 * Prints the lines for bench/RESULTS.md.
 */
import os from 'node:os';
import { parseJson, stringifyJson } from '../src/json/lossless.ts';
import { checkElementRules } from '../src/validation/element-rules.ts';
import { mexicanPatient, weightObservation } from './fixtures.ts';
import { validationScenarios } from './scenarios/validation.ts';

function median(run: () => void, runs = 20_000): number {
  for (let i = 0; i < 2000; i++) run();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    run();
    times.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  times.sort((a, b) => a - b);
  return Math.round((times[Math.floor(times.length / 2)] ?? 0) * 10) / 10;
}

const load = os.loadavg()[0] ?? 0;
const validation = await validationScenarios();
const plain = JSON.stringify(weightObservation('p1'));
// The same body with decimals as a scale keeps them: 71.0 kg, not 71.
const scaled = plain.replace(/"value":(\d+(?:\.\d+)?)/g, (_m, v: string) => `"value":${v.includes('.') ? `${v}0` : `${v}.00`}`);
const json: [string, number][] = [
  ['JSON.parse + JSON.stringify (before)', median(() => JSON.stringify(JSON.parse(plain)))],
  ['parseJson + stringifyJson, no decimal scale to keep', median(() => stringifyJson(parseJson(plain)))],
  ['parseJson + stringifyJson, decimals with trailing zeros', median(() => stringifyJson(parseJson(scaled)))],
];
const patient = mexicanPatient(1);
const weight = weightObservation('p1');
const rules: [string, number][] = [
  ['element rules alone (ele-1, type invariants, narrative, base64): MX Patient', median(() => checkElementRules(patient))],
  ['element rules alone: body weight Observation', median(() => checkElementRules(weight))],
];
console.log(`\nLoad average (1 min) at start ${load.toFixed(1)}; Node ${process.version}\n`);
console.log('| resource | median µs | p99 µs |\n|---|---|---|');
for (const v of validation) console.log(`| ${v.name} | ${v.medianUs} | ${v.p99Us} |`);
for (const [name, us] of rules) console.log(`| ${name} | ${us} | |`);
console.log(`\n| body of a weight Observation (${plain.length} bytes) | median µs |\n|---|---|`);
for (const [name, us] of json) console.log(`| ${name} | ${us} |`);
