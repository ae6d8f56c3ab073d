import { describe, expect, test } from 'vitest';
import { comboKey, comboRowsOf, matchCombo } from './combo-params.ts';
import { emptyRows } from './extract-index-values.ts';
import { parseSearch } from './parse-search.ts';

describe('combined parameters', () => {
  test('a key joins the values with | and escapes \\ and |, so two different combinations never share one', () => {
    expect(comboKey(['Organization/a', 'requested'])).toBe('Organization/a|requested');
    expect(comboKey(['a|b', 'c'])).not.toBe(comboKey(['a', 'b|c']));
    expect(comboKey(['a\\', '|b'])).not.toBe(comboKey(['a\\|', 'b']));
  });

  test('a Task gets a row per owner × status and requester × status; local references only; other types none', () => {
    const rows = emptyRows();
    rows.sp_reference.push(
      { param: 'owner', grp: 0, target_type: 'Organization', target_id: 'u1', url: null },
      { param: 'owner', grp: 0, target_type: null, target_id: null, url: 'https://elsewhere.example/Organization/9' },
      { param: 'requester', grp: 0, target_type: 'Organization', target_id: 'r1', url: null },
    );
    rows.sp_token.push({ param: 'status', grp: 0, system: 'http://hl7.org/fhir/task-status', code: 'requested', text: null });
    rows.sp_token.push({ param: 'priority', grp: 0, system: 'http://hl7.org/fhir/request-priority', code: 'urgent', text: null });
    const on = new Date('2026-03-01T10:00:00Z');
    rows.sp_date.push({ param: 'authored-on', grp: 0, lo: on, hi: on });
    // The sort values the worklists use ride along, when the Task has one of each.
    const carried = { carried: true, code: 'urgent', lo: on, hi: on };
    expect(comboRowsOf('Task', rows)).toEqual([
      { combo: 'owner+status', key: 'Organization/u1|requested', ...carried },
      { combo: 'requester+status', key: 'Organization/r1|requested', ...carried },
    ]);
    expect(comboRowsOf('ServiceRequest', rows)).toEqual([]);
    // Two priorities: nothing carried (the compiler reads that Task's keys from their tables).
    rows.sp_token.push({ param: 'priority', grp: 1, system: null, code: 'stat', text: null });
    expect(comboRowsOf('Task', rows).map((r) => [r.carried, r.code, r.lo])).toEqual([[false, null, null], [false, null, null]]);
    rows.sp_token.length = 0;
    expect(comboRowsOf('Task', rows)).toEqual([]);
  });

  test('a search uses a combination only with all its parameters, plain values: keys are their product', () => {
    const match = (q: Record<string, string>) => matchCombo('Task', parseSearch(['Task'], q).filters);
    expect(match({ 'service-type': '1', owner: 'Organization/u1,Organization/u2', status: 'requested,received' })).toEqual({
      combo: 'owner+status',
      carries: { token: 'priority', date: 'authored-on' },
      keys: ['Organization/u1|requested', 'Organization/u1|received', 'Organization/u2|requested', 'Organization/u2|received'],
      filters: [1, 2],
    });
    expect(match({ owner: 'Organization/u1' })).toBeUndefined();
    expect(match({ owner: 'Organization/u1', status: 'http://hl7.org/fhir/task-status|requested' })).toBeUndefined();
    expect(match({ 'owner:Organization': 'u1', status: 'requested' })).toBeUndefined();
    expect(match({ owner: 'Organization/u1', 'status:not': 'requested' })).toBeUndefined();
  });
});
