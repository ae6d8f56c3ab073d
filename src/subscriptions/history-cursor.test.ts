import { expect, test } from 'vitest';
import { advance } from './history-cursor.ts';

test('rows after high move it on; numbers missing below a committed row become gaps of this fan-out', () => {
  expect(advance({ high: 10, gaps: [] }, [], [], [11, 12, 15, 16, 18])).toEqual({ high: 18, gaps: [{ lo: 13, hi: 14, xid: null }, { lo: 17, hi: 17, xid: null }] });
  expect(advance({ high: 10, gaps: [] }, [], [], [])).toEqual({ high: 10, gaps: [] });
});

test('a gap that was not final keeps what is still missing; a final one is dropped whatever is missing', () => {
  const state = { high: 20, gaps: [{ lo: 5, hi: 9, xid: '100' }, { lo: 12, hi: 12, xid: '101' }, { lo: 14, hi: 15, xid: '101' }] };
  // 7 committed inside the first gap, 12 committed, the third gap final with 15 committed and 14 rolled back.
  expect(advance(state, [false, false, true], [7, 12, 15], [21])).toEqual({
    high: 21,
    gaps: [{ lo: 5, hi: 6, xid: '100' }, { lo: 8, hi: 9, xid: '100' }],
  });
  expect(advance(state, [false, false, false], [5, 9], [])).toEqual({ high: 20, gaps: [{ lo: 6, hi: 8, xid: '100' }, { lo: 12, hi: 12, xid: '101' }, { lo: 14, hi: 15, xid: '101' }] });
});
