/**
 * XML property lists: the subset Info.plist keys need (dict, array, string, boolean, integer).
 * `serializePlist` writes Apple's layout; `parsePlist` reads it back strictly, so the equivalence
 * checks evaluate what a device would read rather than the generator's in-memory object.
 */
import { WirelockError } from '../errors.js';
import { escapeXml, parseXml, type XmlElement } from './xml.js';

export type PlistValue = string | boolean | number | PlistValue[] | { [key: string]: PlistValue };

function serializeValue(value: PlistValue, indent: string, out: string[]): void {
  if (typeof value === 'string') out.push(`${indent}<string>${escapeXml(value)}</string>`);
  else if (typeof value === 'boolean') out.push(`${indent}<${value}/>`);
  else if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new WirelockError('ERR_INPUT_INVALID', `plist: only integers are written, not ${value}`);
    out.push(`${indent}<integer>${value}</integer>`);
  } else if (Array.isArray(value)) {
    if (value.length === 0) {
      out.push(`${indent}<array/>`);
      return;
    }
    out.push(`${indent}<array>`);
    for (const item of value) serializeValue(item, `${indent}\t`, out);
    out.push(`${indent}</array>`);
  } else {
    const keys = Object.keys(value);
    if (keys.length === 0) {
      out.push(`${indent}<dict/>`);
      return;
    }
    out.push(`${indent}<dict>`);
    for (const key of keys) {
      out.push(`${indent}\t<key>${escapeXml(key)}</key>`);
      serializeValue(value[key]!, `${indent}\t`, out);
    }
    out.push(`${indent}</dict>`);
  }
}

/** A complete XML plist document whose root is `value`. */
export function serializePlist(value: PlistValue): string {
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
  ];
  serializeValue(value, '', out);
  out.push('</plist>', '');
  return out.join('\n');
}

function invalid(message: string, file: string | undefined, element: XmlElement): never {
  throw new WirelockError('ERR_INPUT_INVALID', `${file ?? '<plist>'}:${element.line}: ${message}`, { file, line: element.line });
}

function readValue(element: XmlElement, file: string | undefined): PlistValue {
  const noChildren = () => {
    if (element.children.length > 0) invalid(`<${element.name}> cannot contain elements`, file, element);
  };
  switch (element.name) {
    case 'string':
      noChildren();
      return element.text;
    case 'true':
    case 'false':
      noChildren();
      if (element.text.trim() !== '') invalid(`<${element.name}/> must be empty`, file, element);
      return element.name === 'true';
    case 'integer': {
      noChildren();
      const text = element.text.trim();
      if (!/^-?\d+$/.test(text)) invalid(`<integer> holds "${text}"`, file, element);
      return Number(text);
    }
    case 'real': {
      noChildren();
      const value = Number(element.text.trim());
      if (element.text.trim() === '' || Number.isNaN(value)) invalid(`<real> holds "${element.text}"`, file, element);
      return value;
    }
    // Present in real Info.plist files; kept as their text, nothing here interprets them.
    case 'date':
    case 'data':
      noChildren();
      return element.text.trim();
    case 'array':
      if (element.text.trim() !== '') invalid('text inside <array>', file, element);
      return element.children.map((child) => readValue(child, file));
    case 'dict': {
      if (element.text.trim() !== '') invalid('text inside <dict>', file, element);
      const result: Record<string, PlistValue> = {};
      const children = element.children;
      if (children.length % 2 !== 0) invalid('<dict> needs <key>/value pairs', file, element);
      for (let i = 0; i < children.length; i += 2) {
        const key = children[i]!;
        if (key.name !== 'key' || key.children.length > 0) invalid(`expected <key>, found <${key.name}>`, file, key);
        if (key.text in result) invalid(`duplicate key "${key.text}"`, file, key);
        result[key.text] = readValue(children[i + 1]!, file);
      }
      return result;
    }
    default:
      return invalid(`unsupported plist element <${element.name}>`, file, element);
  }
}

export function parsePlist(source: string, file?: string): PlistValue {
  const root = parseXml(source, file, { doctype: 'plist' });
  if (root.name !== 'plist') invalid(`root element is <${root.name}>, expected <plist>`, file, root);
  if (root.children.length !== 1 || root.text.trim() !== '') invalid('<plist> must hold exactly one value', file, root);
  return readValue(root.children[0]!, file);
}

export function isPlistDict(value: PlistValue | undefined): value is { [key: string]: PlistValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
