/**
 * A deliberately small XML reader and writer for the formats the mobile generators emit (Android
 * Network Security Config, plist). The reader is strict: it refuses any DOCTYPE but Apple's plist
 * one (and that only where the caller asks for it), processing instructions other than the XML
 * declaration, unknown entities and mismatched tags, because these files are security
 * configuration and a lenient parse could hide what a platform really reads.
 */
import { WirelockError } from '../errors.js';

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** Concatenated character data directly inside this element (whitespace kept). */
  text: string;
  /** 1-based line of the start tag, for messages. */
  line: number;
  /** Source offsets: `source.slice(start, end)` is the element, start tag to end tag. */
  start: number;
  end: number;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fail(message: string, file: string | undefined, line: number): never {
  throw new WirelockError('ERR_INPUT_INVALID', `${file ?? '<xml>'}:${line}: ${message}`, { file, line });
}

function decode(raw: string, file: string | undefined, line: number): string {
  return raw.replace(/&([^;&\s]*);/g, (_, name: string) => {
    if (name.startsWith('#x')) return String.fromCodePoint(Number.parseInt(name.slice(2), 16));
    if (name.startsWith('#')) return String.fromCodePoint(Number.parseInt(name.slice(1), 10));
    const value = ENTITIES[name];
    if (value === undefined) fail(`unknown entity &${name};`, file, line);
    return value;
  });
}

const NAME = /^[A-Za-z_][\w.:-]*/;

export interface ParseXmlOptions {
  /**
   * Which DOCTYPE the document may carry: `none` (the default; Android's Network Security Config
   * never has one) or `plist`, Apple's plist DOCTYPE exactly (PLIST_DOCTYPE_PUBLIC_IDS and
   * PLIST_DOCTYPE_SYSTEM_ID) and nothing else.
   */
  doctype?: 'none' | 'plist';
}

/** The public identifiers Apple's plist DOCTYPE has carried (the second one before 2006). */
export const PLIST_DOCTYPE_PUBLIC_IDS = ['-//Apple//DTD PLIST 1.0//EN', '-//Apple Computer//DTD PLIST 1.0//EN'];
export const PLIST_DOCTYPE_SYSTEM_ID = 'http://www.apple.com/DTDs/PropertyList-1.0.dtd';

/**
 * The offset just after the DOCTYPE starting at `start`. XML 1.0 section 2.8 (doctypedecl,
 * ExternalID): the declaration ends at the first ">" outside its quoted PubidLiteral and
 * SystemLiteral; libxml2 and expat (aapt2's parser) read it so. Ending it at the first ">" anywhere
 * would let a literal hide a decoy document from this reader while the platform reads the rest.
 * An internal subset ("[") is refused: it can declare entities that change the text.
 */
function doctypeEnd(source: string, start: number, file: string | undefined, line: number): number {
  let pos = start + '<!DOCTYPE'.length;
  while (pos < source.length) {
    const char = source[pos]!;
    if (char === '>') return pos + 1;
    if (char === '[') fail('DOCTYPE with an internal subset is not accepted', file, line);
    if (char === '"' || char === "'") {
      const close = source.indexOf(char, pos + 1);
      if (close < 0) break;
      pos = close + 1;
      continue;
    }
    pos++;
  }
  return fail('unterminated DOCTYPE', file, line);
}

function checkPlistDoctype(doctype: string, file: string | undefined, line: number): void {
  // doctypedecl ::= '<!DOCTYPE' S Name S 'PUBLIC' S PubidLiteral S SystemLiteral S? '>'
  const parts = /^<!DOCTYPE\s+plist\s+PUBLIC\s+(?:"([^"]*)"|'([^']*)')\s+(?:"([^"]*)"|'([^']*)')\s*>$/.exec(doctype);
  const publicId = parts?.[1] ?? parts?.[2];
  const systemId = parts?.[3] ?? parts?.[4];
  if (publicId === undefined || !PLIST_DOCTYPE_PUBLIC_IDS.includes(publicId) || systemId !== PLIST_DOCTYPE_SYSTEM_ID) {
    const shown = doctype.length > 200 ? `${doctype.slice(0, 200)}...` : doctype;
    fail(`${shown} is not Apple's plist DOCTYPE (<!DOCTYPE plist PUBLIC "${PLIST_DOCTYPE_PUBLIC_IDS[0]}" "${PLIST_DOCTYPE_SYSTEM_ID}">): no other DOCTYPE is accepted`, file, line);
  }
}

/** Parses one XML document into its root element. */
export function parseXml(source: string, file?: string, options: ParseXmlOptions = {}): XmlElement {
  let pos = 0;
  let line = 1;
  const advance = (count: number) => {
    for (let i = pos; i < pos + count; i++) if (source.charCodeAt(i) === 10) line++;
    pos += count;
  };
  const skipSpace = () => {
    const match = /^\s*/.exec(source.slice(pos))!;
    advance(match[0].length);
  };
  if (source.charCodeAt(0) === 0xfeff) pos = 1;
  const decl = /^<\?xml\s[^?]*\?>/.exec(source.slice(pos));
  if (decl) {
    if (!/encoding\s*=\s*["']utf-8["']/i.test(decl[0]) && /encoding/.test(decl[0])) fail('only UTF-8 is supported', file, line);
    advance(decl[0].length);
  }
  let seenDoctype = false;
  const skipMisc = (beforeRoot: boolean) => {
    for (;;) {
      skipSpace();
      if (source.startsWith('<!--', pos)) {
        const end = source.indexOf('-->', pos + 4);
        if (end < 0) fail('unterminated comment', file, line);
        advance(end + 3 - pos);
      } else if (source.startsWith('<!DOCTYPE', pos)) {
        if (!beforeRoot || seenDoctype) fail('a DOCTYPE may appear only once, before the root element', file, line);
        seenDoctype = true;
        if ((options.doctype ?? 'none') === 'none') {
          fail('a DOCTYPE is not accepted: an Android Network Security Config never needs one, and a DOCTYPE can make parsers disagree on where the document starts', file, line);
        }
        const end = doctypeEnd(source, pos, file, line);
        checkPlistDoctype(source.slice(pos, end), file, line);
        advance(end - pos);
      } else if (source.startsWith('<?', pos)) {
        fail('processing instructions are not accepted', file, line);
      } else {
        return;
      }
    }
  };

  const element = (): XmlElement => {
    const startLine = line;
    const start = pos;
    advance(1); // <
    const name = NAME.exec(source.slice(pos))?.[0];
    if (!name) fail('expected an element name', file, line);
    advance(name.length);
    const attributes: Record<string, string> = {};
    for (;;) {
      skipSpace();
      if (source.startsWith('/>', pos)) {
        advance(2);
        return { name, attributes, children: [], text: '', line: startLine, start, end: pos };
      }
      if (source[pos] === '>') {
        advance(1);
        break;
      }
      const attr = NAME.exec(source.slice(pos))?.[0];
      if (!attr) fail(`malformed attribute in <${name}>`, file, line);
      advance(attr.length);
      skipSpace();
      if (source[pos] !== '=') fail(`attribute ${attr} of <${name}> has no value`, file, line);
      advance(1);
      skipSpace();
      const quote = source[pos];
      if (quote !== '"' && quote !== "'") fail(`attribute ${attr} of <${name}> is not quoted`, file, line);
      const end = source.indexOf(quote, pos + 1);
      if (end < 0) fail(`unterminated attribute ${attr}`, file, line);
      const raw = source.slice(pos + 1, end);
      if (raw.includes('<')) fail(`"<" in attribute ${attr}`, file, line);
      if (attr in attributes) fail(`duplicate attribute ${attr} in <${name}>`, file, line);
      attributes[attr] = decode(raw, file, line);
      advance(end + 1 - pos);
    }
    const children: XmlElement[] = [];
    let text = '';
    for (;;) {
      if (pos >= source.length) fail(`<${name}> is not closed`, file, startLine);
      if (source.startsWith('</', pos)) {
        advance(2);
        const close = NAME.exec(source.slice(pos))?.[0];
        if (close !== name) fail(`</${close ?? ''}> closes <${name}> (line ${startLine})`, file, line);
        advance(close.length);
        skipSpace();
        if (source[pos] !== '>') fail(`malformed end tag </${name}`, file, line);
        advance(1);
        return { name, attributes, children, text, line: startLine, start, end: pos };
      }
      if (source.startsWith('<!--', pos)) {
        const end = source.indexOf('-->', pos + 4);
        if (end < 0) fail('unterminated comment', file, line);
        advance(end + 3 - pos);
        continue;
      }
      if (source.startsWith('<![CDATA[', pos)) {
        const end = source.indexOf(']]>', pos);
        if (end < 0) fail('unterminated CDATA', file, line);
        text += source.slice(pos + 9, end);
        advance(end + 3 - pos);
        continue;
      }
      if (source.startsWith('<!', pos) || source.startsWith('<?', pos)) fail('declarations and processing instructions are not accepted inside elements', file, line);
      if (source[pos] === '<') {
        children.push(element());
        continue;
      }
      const next = source.indexOf('<', pos);
      const end = next < 0 ? source.length : next;
      text += decode(source.slice(pos, end), file, line);
      advance(end - pos);
    }
  };

  skipMisc(true);
  if (source[pos] !== '<') fail('expected a root element', file, line);
  const root = element();
  skipMisc(false);
  if (pos < source.length) fail('content after the root element', file, line);
  return root;
}
