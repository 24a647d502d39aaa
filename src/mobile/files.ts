/** The file-system edge of the mobile generators: where each generated file goes on disk. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { WirelockError } from '../errors.js';
import { ANDROID_XML_PATH } from './android.js';
import type { GenerateResult } from './model.js';

/**
 * Writes an Android result: the XML to `xmlFile` (normally `<res>/xml/network_security_config.xml`)
 * and the trust-anchor PEM files to `<res>/raw/`, where `<res>` is the XML's grandparent directory.
 * Returns the absolute paths written.
 */
export function writeAndroidResources(result: GenerateResult, xmlFile: string): string[] {
  const resDir = resolve(dirname(resolve(xmlFile)), '..');
  const written: string[] = [];
  for (const file of result.files) {
    const path = file.path === ANDROID_XML_PATH ? resolve(xmlFile) : join(resDir, file.path);
    write(path, file.contents);
    written.push(path);
  }
  return written;
}

export function write(path: string, contents: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, contents);
  } catch (error) {
    throw new WirelockError('ERR_INPUT_INVALID', `cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { file: path });
  }
}

export function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new WirelockError('ERR_INPUT_INVALID', `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { file: path });
  }
}
