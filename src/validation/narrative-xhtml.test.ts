import { describe, expect, test } from 'vitest';
import { narrativeProblems } from './narrative-xhtml.ts';

const ns = 'xmlns="http://www.w3.org/1999/xhtml"';
const messages = (div: string): string[] => narrativeProblems(div).map((p) => `${p.key} ${p.en}`);

describe('narrative XHTML (txt-1, txt-2)', () => {
  test('the basic formatting elements, links, images, tables and character references pass', () => {
    expect(messages(`<div ${ns}><p class="x" style="color:red; background-image: url(tbl_bck1.png)">Hola &amp; &#233; &#x00E9; &lt;b&gt;</p><a href="http://x.org" name="n">l</a><img src="#pic" alt="a"/><table border="1"><tr><td colspan="2">1</td></tr></table><span xml:lang="es">é</span></div>`)).toEqual([]);
  });

  test.each([
    ['<script>alert(1)</script>', 'Element not allowed in a narrative: <script>'],
    ['<img src="x" onerror="alert(1)"/>', 'Attribute not allowed on <img>: onerror'],
    ['<p onclick="x()">a</p>', 'Attribute not allowed on <p>: onclick'],
    ['<a href="javascript:alert(1)">a</a>', 'may not run code'],
    ['<iframe src="http://evil"/>', '<iframe>'],
    ['<form><input/></form>', '<form>'],
    ['<object data="x"/>', '<object>'],
    ['<style>p{}</style>', '<style>'],
    ['<link rel="stylesheet" href="x"/>', '<link>'],
    ['<p>&reg;</p>', 'Malformed XHTML'],
    ['<p>a<b>c</p>', 'Malformed XHTML'],
    ['<p style="width: expression(alert(1))">a</p>', 'may not run code'],
    ['<p style="background:url(javascript:alert(1))">a</p>', 'may not run code'],
  ])('%s is refused', (inner, expected) => {
    const found = messages(`<div ${ns}>${inner}</div>`);
    expect(found.join('\n')).toContain(expected);
    expect(found[0]).toMatch(/^txt-1 /);
  });

  test('the div must be in the XHTML namespace, and the root a div', () => {
    expect(messages('<div>text</div>')[0]).toContain('XHTML namespace');
    expect(messages(`<p ${ns}>text</p>`)[0]).toContain('The root must be');
    expect(messages(`<div ${ns}><svg xmlns="http://www.w3.org/2000/svg"/>t</div>`)[0]).toContain('<svg> is not in the XHTML namespace');
  });

  test('text outside the div or no content at all', () => {
    expect(messages(`<div ${ns}>a</div>b`)[0]).toContain('Malformed');
    expect(messages(`<div ${ns}>  <p> </p></div>`)).toEqual(['txt-2 The narrative must have some non-whitespace content']);
    expect(messages('not xml')[0]).toContain('Malformed');
  });
});
