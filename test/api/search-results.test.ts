/** Result control (https://hl7.org/fhir/R4/search.html#return): sort, paging, totals, summaries, includes; system level, POST, handling, errors. */
import { beforeAll, describe, expect, test } from 'vitest';
import { fhirJson, uniqueTag, useTestApp } from '../support/app.ts';
import { loadTagged, matchIds, searchTagged, type SearchBundle } from '../support/search.ts';
import { fixtures } from './search-fixtures.ts';

const t = useTestApp();
const tag = uniqueTag();
beforeAll(async () => loadTagged(t, tag, fixtures));

describe('_sort', () => {
  test('ascending by date: smallest value first, missing last; descending by largest value', async () => {
    expect(matchIds(await searchTagged(t, tag, 'Patient?_sort=birthdate'), tag, true)).toEqual(['p3', 'p2', 'p1', 'p4']);
    expect(matchIds(await searchTagged(t, tag, 'Patient?_sort=-birthdate'), tag, true)).toEqual(['p2', 'p1', 'p3', 'p4']);
  });
  test('several keys, strings accent-insensitive', async () => {
    expect(matchIds(await searchTagged(t, tag, 'Patient?_sort=family,-_id'), tag, true)).toEqual(['p2', 'p1', 'p4', 'p3']);
    expect(matchIds(await searchTagged(t, tag, 'Observation?_sort=-date,_id&_count=3'), tag, true)).toEqual(['o3', 'o1', 'o2']);
  });
});

async function walk(path: string, rel: 'next' | 'previous', first: SearchBundle): Promise<string[][]> {
  const pages = [matchIds(first, tag, true)];
  let bundle = first;
  for (let link = bundle.link.find((l) => l.relation === rel); link; link = bundle.link.find((l) => l.relation === rel)) {
    const res = await t.request({ method: 'GET', url: link.url.replace('http://localhost:80', '') });
    expect(res.statusCode, res.body).toBe(200);
    bundle = res.json();
    pages.push(matchIds(bundle, tag, true));
    expect(pages.length, path).toBeLessThan(20);
  }
  return pages;
}

describe('paging', () => {
  test('next and previous links walk every row once, in order', async () => {
    const first = await searchTagged(t, tag, 'Patient?_sort=birthdate&_count=3');
    expect(first.total).toBe(4);
    const pages = await walk('', 'next', first);
    expect(pages).toEqual([['p3', 'p2', 'p1'], ['p4']]);
    const last = await t.request({ method: 'GET', url: first.link.find((l) => l.relation === 'next')!.url.replace('http://localhost:80', '') });
    const back = last.json() as SearchBundle;
    expect(back.link.find((l) => l.relation === 'previous')).toBeDefined();
    const prev = await t.request({ method: 'GET', url: back.link.find((l) => l.relation === 'previous')!.url.replace('http://localhost:80', '') });
    expect(matchIds(prev.json(), tag, true)).toEqual(['p3', 'p2', 'p1']);
  });

  test('rows written while paging neither make a page skip nor repeat a row (keyset, not OFFSET)', async () => {
    const pageTag = uniqueTag();
    await loadTagged(t, pageTag, Array.from({ length: 10 }, (_, i) => ({ resourceType: 'Basic', id: `b${String(i).padStart(2, '0')}`, code: { text: 'x' } })));
    const res = await t.request({ method: 'GET', url: `/fhir/Basic?_tag=urn:test|${pageTag}&_count=4` });
    const first = res.json() as SearchBundle;
    const seen = matchIds(first, pageTag, true);
    // Another client inserts rows before and after the cursor, and deletes one already served.
    await loadTagged(t, pageTag, [{ resourceType: 'Basic', id: 'a00', code: { text: 'x' } }, { resourceType: 'Basic', id: 'b05a', code: { text: 'x' } }]);
    await t.request({ method: 'DELETE', url: `/fhir/Basic/${pageTag}-b00` });
    let next = first.link.find((l) => l.relation === 'next');
    while (next) {
      const page = (await t.request({ method: 'GET', url: next.url.replace('http://localhost:80', '') })).json() as SearchBundle;
      seen.push(...matchIds(page, pageTag, true));
      next = page.link.find((l) => l.relation === 'next');
    }
    expect(seen).toEqual(['b00', 'b01', 'b02', 'b03', 'b04', 'b05', 'b05a', 'b06', 'b07', 'b08', 'b09']);
  });

  test('two sort keys with ties and missing values (the second read only near the page): every page in order, both ways', async () => {
    const twoTag = uniqueTag();
    const statuses = ['final', 'amended', 'preliminary'];
    const obs = Array.from({ length: 13 }, (_, i) => ({
      resourceType: 'Observation',
      id: `s${String(i).padStart(2, '0')}`,
      // Keys with many ties; every fourth without a date (a missing key: last, first backwards).
      status: statuses[i % 3]!,
      code: { text: 'x' },
      ...(i % 4 === 3 ? {} : { effectiveDateTime: `2026-0${1 + (i % 2)}-10T09:00:00Z` }),
    }));
    await loadTagged(t, twoTag, obs);
    const ids = obs.map((o) => `${twoTag}-${o.id}`).join(',');
    const date = (o: (typeof obs)[number]) => ('effectiveDateTime' in o ? o.effectiveDateTime : undefined);
    const byStatus = (a: (typeof obs)[number], b: (typeof obs)[number]) => a.status.localeCompare(b.status);
    // Descending by date, missing last.
    const byDate = (a: (typeof obs)[number], b: (typeof obs)[number]) => (date(a) && date(b) ? date(b)!.localeCompare(date(a)!) : date(a) ? -1 : date(b) ? 1 : 0);
    const get = async (url: string) => (await t.request({ method: 'GET', url: url.replace('http://localhost:80', '') })).json() as SearchBundle;
    type Obs = (typeof obs)[number];
    const orders: [string, (a: Obs, b: Obs) => number][] = [
      ['status,-date', (a, b) => byStatus(a, b) || byDate(a, b)],
      ['-date,status', (a, b) => byDate(a, b) || byStatus(a, b)],
    ];
    for (const [sort, compare] of orders) {
      const expected = [...obs].sort((a, b) => compare(a, b) || a.id.localeCompare(b.id)).map((o) => o.id);
      const query = `/fhir/Observation?_id=${ids}&_sort=${sort}`;
      expect(matchIds(await get(`${query}&_count=1000`), twoTag, true), sort).toEqual(expected);
      for (const count of [1, 3, 4]) {
        let page = await get(`${query}&_count=${count}`);
        const forward = [matchIds(page, twoTag, true)];
        for (let next = page.link.find((l) => l.relation === 'next'); next; next = page.link.find((l) => l.relation === 'next')) {
          page = await get(next.url);
          forward.push(matchIds(page, twoTag, true));
          expect(page.total).toBe(13);
        }
        expect(forward.flat(), `${sort} by ${count}`).toEqual(expected);
        const backward = [matchIds(page, twoTag, true)];
        for (let prev = page.link.find((l) => l.relation === 'previous'); prev; prev = page.link.find((l) => l.relation === 'previous')) {
          page = await get(prev.url);
          backward.unshift(matchIds(page, twoTag, true));
        }
        expect(backward, `${sort} by ${count}, backwards`).toEqual(forward);
      }
    }
  });

  test('_count caps at 1000; _count=0 answers only the total', async () => {
    const zero = await searchTagged(t, tag, 'Patient?_count=0');
    expect(zero.total).toBe(4);
    expect(zero.entry ?? []).toEqual([]);
  });

  test('a page holds 20 matches by default and at most 1000 whatever _count asks', async () => {
    const many = uniqueTag();
    // 1001 small resources in one transaction.
    const entry = Array.from({ length: 1001 }, () => ({
      resource: { resourceType: 'Basic', code: { text: 'x' }, meta: { tag: [{ system: 'urn:test', code: many }] } },
      request: { method: 'POST', url: 'Basic' },
    }));
    const loaded = await t.request({ method: 'POST', url: '/fhir', headers: fhirJson, payload: { resourceType: 'Bundle', type: 'transaction', entry } });
    expect(loaded.statusCode).toBe(200);
    const page = async (query: string) => (await t.request({ method: 'GET', url: `/fhir/Basic?_tag=urn:test|${many}${query}` })).json() as SearchBundle;
    const byDefault = await page('');
    expect(byDefault.entry).toHaveLength(20);
    expect(byDefault.link.some((l) => l.relation === 'next')).toBe(true);
    const capped = await page('&_count=5000');
    expect(capped.entry).toHaveLength(1000);
    expect(capped.link.some((l) => l.relation === 'next')).toBe(true);
  }, 60_000);

  test('a tampered cursor is a 400 naming _cursor', async () => {
    const res = await t.request({ method: 'GET', url: '/fhir/Patient?_cursor=bm9wZQ' });
    expect(res.statusCode).toBe(400);
    expect(res.json().issue[0].expression).toEqual(['_cursor']);
  });
});

describe('_total, _summary, _elements', () => {
  test('_total=none omits it, accurate counts beyond the page, estimate is a number', async () => {
    expect((await searchTagged(t, tag, 'Patient?_total=none')).total).toBeUndefined();
    expect((await searchTagged(t, tag, 'Patient?_total=accurate&_count=1')).total).toBe(4);
    expect(typeof (await searchTagged(t, tag, 'Patient?_total=estimate')).total).toBe('number');
  });
  test('_summary=count, true, text, data; _elements; subsets are tagged SUBSETTED', async () => {
    const count = await searchTagged(t, tag, 'Patient?_summary=count');
    expect(count.total).toBe(4);
    expect(count.entry).toBeUndefined();
    const summary = await searchTagged(t, tag, `Patient?_summary=true&_id=${tag}-p1`);
    const p = summary.entry![0]!.resource;
    expect(p.birthDate).toBe('1980-05-02');
    expect(p.name).toBeDefined();
    expect(p.generalPractitioner).toBeUndefined();
    expect(JSON.stringify(p.meta)).toContain('SUBSETTED');
    const elements = await searchTagged(t, tag, `Patient?_elements=gender&_id=${tag}-p1`);
    expect(Object.keys(elements.entry![0]!.resource).sort()).toEqual(['gender', 'id', 'meta', 'resourceType']);
    const data = await searchTagged(t, tag, `Observation?_summary=data&_id=${tag}-o1`);
    expect(data.entry![0]!.resource.component).toBeDefined();
  });
});

describe('_include and _revinclude', () => {
  test('_include adds referenced resources with search.mode=include', async () => {
    const b = await searchTagged(t, tag, 'Observation?code=29463-7&_include=Observation:subject');
    expect(b.entry!.map((e) => `${e.search.mode}:${e.resource.id.replace(`${tag}-`, '')}`)).toEqual(['match:o3', 'include:p1']);
  });
  test('_revinclude, and :iterate follows included resources', async () => {
    const b = await searchTagged(t, tag, `Patient?_id=${tag}-p2&_revinclude=Observation:subject`);
    expect(b.entry!.map((e) => `${e.search.mode}:${e.resource.id.replace(`${tag}-`, '')}`)).toEqual(['match:p2', 'include:o2']);
    const it = await searchTagged(t, tag, 'Observation?code=29463-7&_include=Observation:subject&_include:iterate=Patient:general-practitioner');
    expect(it.entry!.map((e) => e.resource.id.replace(`${tag}-`, '')).sort()).toEqual(['o3', 'p1', 'pr1']);
  });
});

describe('system level, POST _search, handling', () => {
  test('GET /fhir?_type=… searches several types with common parameters', async () => {
    const res = await t.request({ method: 'GET', url: `/fhir?_type=Patient,Practitioner&_tag=urn:test|${tag}&_sort=_id` });
    expect(res.statusCode).toBe(200);
    expect(matchIds(res.json(), tag, true)).toEqual(['p1', 'p2', 'p3', 'p4', 'pr1']);
  });
  test('POST _search with a form body answers as GET', async () => {
    const res = await t.request({ method: 'POST', url: '/fhir/Patient/_search', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `name=jose&_tag=urn:test|${tag}` });
    expect(res.statusCode, res.body).toBe(200);
    expect(matchIds(res.json(), tag)).toEqual(['p1', 'p4']);
    const sys = await t.request({ method: 'POST', url: '/fhir/_search', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `_type=Practitioner&_tag=urn:test|${tag}` });
    expect(matchIds(sys.json(), tag)).toEqual(['pr1']);
  });
  test('unknown parameters: lenient ignores and reports them (search.mode=outcome); strict answers 400', async () => {
    const lenient = await searchTagged(t, tag, 'Patient?foo=bar&name=jose');
    expect(matchIds(lenient, tag)).toEqual(['p1', 'p4']);
    const oo = lenient.entry!.find((e) => e.search.mode === 'outcome')!.resource as unknown as { issue: { expression: string[] }[] };
    expect(oo.issue[0]!.expression).toEqual(['foo']);
    const strict = await t.request({ method: 'GET', url: '/fhir/Patient?foo=bar', headers: { prefer: 'handling=strict' } });
    expect(strict.statusCode).toBe(400);
    expect(strict.json().issue[0].expression).toEqual(['foo']);
  });
  test.each([
    ['Patient?birthdate=1980-13-01', 'birthdate'],
    ['Patient?birthdate=xx1980', 'birthdate'],
    ['Patient?birthdate=1980-02-30', 'birthdate'],
    ['Observation?value-quantity=abc', 'value-quantity'],
    ['RiskAssessment?probability=gt', 'probability'],
    ['Patient?gender:missing=maybe', 'gender:missing'],
    ['Patient?name:nonsense=x', 'name:nonsense'],
    ['Observation?component-code-value-quantity=8480-6', 'component-code-value-quantity'],
    ['Observation?subject.organization.partof.name=x', 'subject.organization.partof.name'],
    ['Patient?_lastUpdated=yesterday', '_lastUpdated'],
    ['Patient?_total=all', '_total'],
    ['Patient?_count=-1', '_count'],
  ])('malformed %s is a 400 naming the parameter, even when lenient', async (url, expression) => {
    const res = await t.request({ method: 'GET', url: `/fhir/${url}` });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().resourceType).toBe('OperationOutcome');
    expect(res.json().issue[0].expression).toEqual([expression]);
  });
});

describe('index follows writes', () => {
  test('update replaces the values, delete removes them', async () => {
    const own = uniqueTag();
    await loadTagged(t, own, [{ resourceType: 'Patient', id: 'x', name: [{ family: 'Antes' }] }]);
    expect(matchIds(await searchTagged(t, own, 'Patient?family=antes'), own)).toEqual(['x']);
    await t.request({ method: 'PATCH', url: `/fhir/Patient/${own}-x`, headers: { 'content-type': 'application/json-patch+json' }, payload: [{ op: 'replace', path: '/name/0/family', value: 'Después' }] });
    expect(matchIds(await searchTagged(t, own, 'Patient?family=antes'), own)).toEqual([]);
    expect(matchIds(await searchTagged(t, own, 'Patient?family=despues'), own)).toEqual(['x']);
    await t.request({ method: 'DELETE', url: `/fhir/Patient/${own}-x` });
    expect(matchIds(await searchTagged(t, own, 'Patient'), own)).toEqual([]);
    void fhirJson;
  });
});
