/**
 * Narrative XHTML (https://hl7.org/fhir/R4/narrative.html#xhtml): txt-1 and
 * txt-2 of the Narrative data type. The div must be well-formed XML, a `div`
 * in the XHTML namespace, with only the basic HTML formatting elements and
 * attributes R4 lists (no script, forms, frames, objects, style sheets or
 * event attributes), only XML's own entities, and some non-whitespace content.
 * A narrative is shown as HTML by every EHR frontend: what passes here can
 * hold no active content.
 *
 * The allowed names are those the HL7 reference validator enforces for R4
 * (InstanceValidator.checkInnerNames), which spell out txt-1's chapters of HTML 4.
 */
import { SaxesParser, type SaxesTagNS } from 'saxes';

export const xhtmlNamespace = 'http://www.w3.org/1999/xhtml';

const elements = new Set(
  ('p br div h1 h2 h3 h4 h5 h6 a span b em i strong small big tt dfn q var abbr acronym cite blockquote hr address bdo kbd sub sup ' +
    'ul ol li dl dt dd pre table caption colgroup col thead tr tfoot tbody th td code samp img map area').split(' '),
);

const anyElementAttributes = new Set(
  'title style class id lang xml:lang dir accesskey tabindex span width align valign char charoff abbr axis headers scope rowspan colspan'.split(' '),
);

const elementAttributes = new Set(
  (
    'a.href a.name a.charset a.type a.hreflang a.rel a.rev a.shape a.coords img.src img.border img.alt img.longdesc img.height img.width img.usemap img.ismap ' +
    'blockquote.cite q.cite map.name area.shape area.coords area.href area.nohref area.alt table.summary table.width table.border table.frame table.rules ' +
    'table.cellspacing table.cellpadding pre.space td.nowrap'
  ).split(' '),
);

/** CSS that runs code: IE's expression(), script URLs, old bindings. */
const activeStyle = /expression\s*\(|(?:javascript|vbscript)\s*:|-moz-binding|behavior\s*:/i;

/** URL schemes that run code when followed or loaded. */
const activeScheme = /^\s*(?:javascript|vbscript|livescript)\s*:/i;

export interface NarrativeProblem {
  /** txt-1 (content rules) or txt-2 (no content). */
  key: 'txt-1' | 'txt-2';
  es: string;
  en: string;
}

const maxProblems = 10;

/** The problems of one Narrative.div (empty when valid). */
export function narrativeProblems(div: string): NarrativeProblem[] {
  const problems: NarrativeProblem[] = [];
  const add = (p: NarrativeProblem): void => {
    if (problems.length < maxProblems) problems.push(p);
  };
  let depth = 0;
  let hasContent = false;
  const parser = new SaxesParser({ xmlns: true, position: true });
  parser.on('error', (err) => {
    // saxes prefixes the position ("1:12: "); the message says what is wrong.
    add({ key: 'txt-1', es: `XHTML mal formado: ${err.message}`, en: `Malformed XHTML: ${err.message}` });
  });
  parser.on('doctype', () => add({ key: 'txt-1', es: 'El XHTML no puede declarar DOCTYPE', en: 'The XHTML may not declare a DOCTYPE' }));
  parser.on('processinginstruction', (pi) => add({ key: 'txt-1', es: `Instrucción de procesamiento no permitida <?${pi.target}?>`, en: `Processing instruction <?${pi.target}?> is not allowed` }));
  parser.on('opentag', (tag) => {
    if (depth === 0 && (tag.local !== 'div' || tag.uri !== xhtmlNamespace)) {
      add({ key: 'txt-1', es: `La raíz debe ser un <div> en el espacio de nombres XHTML (xmlns="${xhtmlNamespace}"), no <${tag.name}>`, en: `The root must be a <div> in the XHTML namespace (xmlns="${xhtmlNamespace}"), not <${tag.name}>` });
    } else {
      checkElement(tag, add);
    }
    depth++;
    if (tag.local === 'img') hasContent = true;
  });
  parser.on('closetag', () => {
    depth--;
  });
  parser.on('text', (text) => {
    if (depth > 0 && text.trim() !== '') hasContent = true;
  });
  try {
    parser.write(div).close();
  } catch (err) {
    // Handlers above do not throw; a parser failure past its own reporting is still a refusal, not a 500.
    add({ key: 'txt-1', es: `XHTML mal formado: ${(err as Error).message}`, en: `Malformed XHTML: ${(err as Error).message}` });
  }
  if (problems.length === 0 && !hasContent) {
    add({ key: 'txt-2', es: 'La narrativa debe tener contenido (texto que no sea solo espacios)', en: 'The narrative must have some non-whitespace content' });
  }
  return problems;
}

function checkElement(tag: SaxesTagNS, add: (p: NarrativeProblem) => void): void {
  if (tag.uri !== xhtmlNamespace) {
    add({ key: 'txt-1', es: `El elemento <${tag.name}> no está en el espacio de nombres XHTML`, en: `Element <${tag.name}> is not in the XHTML namespace` });
    return;
  }
  if (!elements.has(tag.local)) {
    add({ key: 'txt-1', es: `Elemento no permitido en la narrativa: <${tag.local}>`, en: `Element not allowed in a narrative: <${tag.local}>` });
    return;
  }
  for (const attribute of Object.values(tag.attributes)) {
    const name = attribute.prefix === 'xml' ? `xml:${attribute.local}` : attribute.name;
    if (attribute.prefix === 'xmlns' || name === 'xmlns') continue;
    if (attribute.prefix !== '' && attribute.prefix !== 'xml') {
      add({ key: 'txt-1', es: `Atributo no permitido en <${tag.local}>: ${name}`, en: `Attribute not allowed on <${tag.local}>: ${name}` });
    } else if (!anyElementAttributes.has(name) && !elementAttributes.has(`${tag.local}.${name}`)) {
      add({ key: 'txt-1', es: `Atributo no permitido en <${tag.local}>: ${name}`, en: `Attribute not allowed on <${tag.local}>: ${name}` });
    } else if ((name === 'href' || name === 'src' || name === 'longdesc' || name === 'cite') && activeScheme.test(attribute.value)) {
      add({ key: 'txt-1', es: `<${tag.local} ${name}> no puede ejecutar código (${attribute.value.split(':')[0]}:)`, en: `<${tag.local} ${name}> may not run code (${attribute.value.split(':')[0]}:)` });
    } else if (name === 'style' && activeStyle.test(attribute.value)) {
      // Styles are allowed (txt-1: "internally contained style attributes"), images in them too (the spec's own tables use them); code is not.
      add({ key: 'txt-1', es: `El estilo de <${tag.local}> no puede ejecutar código`, en: `The style of <${tag.local}> may not run code` });
    }
  }
}
