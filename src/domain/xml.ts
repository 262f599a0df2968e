import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { InputError } from '../runtime/errors.js';

// An element as fast-xml-parser gives it: attributes under '@name', children always as arrays.
export type XmlNode = { [key: string]: XmlNode[] | string | undefined };

// libvirt never writes a DOCTYPE; refusing it rules out entity expansion tricks entirely.
const DOCTYPE = /<!DOCTYPE/iu;

let parser: XMLParser | undefined;

// Parse well-formed XML into nodes; `what` names the input in the one-line error.
export function parseXml(text: string, what: string): XmlNode {
  if (text.trim() === '') throw new InputError(`${what}: empty input, expected XML`);
  if (DOCTYPE.test(text)) throw new InputError(`${what}: XML with a DOCTYPE is refused`);
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    const { msg, line, col } = valid.err;
    throw new InputError(`${what}: not well-formed XML: ${msg} (line ${line}, column ${col})`);
  }
  parser ??= new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@',
    parseTagValue: false,
    parseAttributeValue: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    isArray: (_name, _path, _isLeaf, isAttribute) => !isAttribute,
  });
  try {
    return parser.parse(text) as XmlNode;
  } catch (error) {
    throw new InputError(`${what}: not usable XML: ${(error as Error).message.split('\n')[0]}`);
  }
}

// The first child element called `name`, if any.
export function child(node: XmlNode | undefined, name: string): XmlNode | undefined {
  const value = node?.[name];
  return Array.isArray(value) && typeof value[0] === 'object' ? value[0] : undefined;
}

// Every child element called `name`, in document order.
export function children(node: XmlNode | undefined, name: string): XmlNode[] {
  const value = node?.[name];
  return Array.isArray(value) ? value.filter((item): item is XmlNode => typeof item === 'object') : [];
}

// An attribute's value, or null when absent.
export function attr(node: XmlNode | undefined, name: string): string | null {
  const value = node?.[`@${name}`];
  return typeof value === 'string' ? value : null;
}

// The names of the document's top-level elements (comments and declarations are not elements).
export function rootNames(doc: XmlNode): string[] {
  return Object.keys(doc).filter((key) => !key.startsWith('@') && !key.startsWith('#') && !key.startsWith('?'));
}

// The text content of the first child element called `name`, or null.
export function text(node: XmlNode | undefined, name: string): string | null {
  const value = node?.[name];
  if (!Array.isArray(value)) return null;
  const first = value[0];
  if (typeof first === 'string') return first;
  const inner = first?.['#text'];
  return typeof inner === 'string' ? inner : null;
}
