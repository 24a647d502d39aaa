import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pinsFromFile } from '../../src/x509/certificate.js';

// Real certificates and keys with the pins their upstreams published (Firefox, Chromium, TrustKit).
const vectors = join(process.cwd(), 'test', 'vectors', 'spki-pins');
const { entries } = JSON.parse(readFileSync(join(vectors, 'pins.json'), 'utf8')) as {
  entries: Array<{ name: string; expected_pin_sha256_b64: string; subject_file: string | null }>;
};
const withSubject = entries.filter((entry) => entry.subject_file);

test('the vector set is present and substantial', () => {
  assert.ok(withSubject.length >= 40, `only ${withSubject.length} pinned subjects found`);
});

for (const entry of withSubject) {
  test(`known-answer pin: ${entry.name} (${entry.subject_file})`, () => {
    const [first] = pinsFromFile(new Uint8Array(readFileSync(join(vectors, entry.subject_file!))), entry.subject_file!);
    assert.equal(first!.pin, `sha256/${entry.expected_pin_sha256_b64}`);
  });
}
