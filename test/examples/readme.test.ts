// Every code block of the README is executed or is part of something executed: JavaScript blocks are
// verbatim excerpts of the examples/ that test/examples/examples.test.ts runs, the policy block is
// validated (its placeholders filled with real pins), the shell block is what .ci/run runs in a fresh
// clone, and the sample lab output names only scenarios the lab has, with the codes they expect.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { lintPolicyDocument } from '../../src/policy/define.js';
import { SCENARIOS } from '../../src/lab/scenarios.js';
import { issueChain } from '../../src/x509/issue.js';
import { certificatePin } from '../../src/x509/certificate.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((match) => ({ lang: match[1]!, code: match[2]! }));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => (statSync(join(dir, entry)).isDirectory() ? files(join(dir, entry)) : [join(dir, entry)]));
}
/** The examples test/examples/examples.test.ts runs. */
const RUN_EXAMPLES = ['examples/fetch.mjs', 'examples/axios.mjs', 'examples/got.mjs', 'examples/undici.mjs', 'examples/register/app.mjs'];

test('the README has the blocks this test knows how to check, and no other kind', () => {
  assert.ok(blocks.length >= 6);
  assert.deepEqual([...new Set(blocks.map((block) => block.lang))].sort(), ['', 'js', 'json', 'sh']);
  const examplesTest = readFileSync(join(ROOT, 'test/examples/examples.test.ts'), 'utf8');
  for (const example of RUN_EXAMPLES) {
    const name = example.replace(/^examples\/|\.mjs$/g, '');
    assert.ok(examplesTest.includes(`'${name}'`) || examplesTest.includes(example), `${example} is run by examples.test.ts`);
  }
});

test('every js block is a verbatim excerpt of an example the tests run', () => {
  const sources = RUN_EXAMPLES.map((file) => ({ file, text: readFileSync(join(ROOT, file), 'utf8') }));
  for (const block of blocks.filter((b) => b.lang === 'js')) {
    const home = sources.find((source) => source.text.includes(block.code));
    assert.ok(home, `README block is not in any run example:\n${block.code}`);
  }
  // Every example file is linked from the README's examples/ folder link.
  assert.match(readme, /\[examples\/\]\(examples\/\)/);
  assert.deepEqual(files(join(ROOT, 'examples')).map((file) => relative(ROOT, file)).filter((file) => file.endsWith('.mjs')).sort(), [...RUN_EXAMPLES].sort());
});

test('the policy block is a valid policy once its placeholders are real pins and files', () => {
  const [policyBlock] = blocks.filter((block) => block.lang === 'json');
  assert.ok(policyBlock);
  const dir = mkdtempSync(join(tmpdir(), 'wirelock-readme-'));
  try {
    const chain = issueChain({ hostnames: ['api.example.com'], rootName: 'README Root' });
    mkdirSync(join(dir, 'certs'));
    writeFileSync(join(dir, 'certs/internal-root.pem'), chain.root.pem);
    const placeholders = [...policyBlock.code.matchAll(/sha256\/<[^>]+>/g)].map((match) => match[0]);
    assert.equal(placeholders.length, 2, 'a primary and a backup pin');
    const filled = policyBlock.code
      .replace(placeholders[0]!, certificatePin(chain.intermediate.der))
      .replace(placeholders[1]!, certificatePin(chain.root.der));
    const document = JSON.parse(filled) as Record<string, unknown>;
    const errors = lintPolicyDocument(document, { baseDir: dir }).filter((issue) => issue.severity === 'error');
    assert.deepEqual(errors, []);
    // Control: the block as printed (placeholders) is refused, so the lint really read it.
    assert.ok(lintPolicyDocument(JSON.parse(policyBlock.code), { baseDir: dir }).some((issue) => issue.severity === 'error'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the quick-start commands are the ones .ci/run runs in a fresh clone', () => {
  const ci = readFileSync(join(ROOT, '.ci/run'), 'utf8');
  const fresh = /readme_in_fresh_clone\(\) \{[\s\S]*?\n\}/.exec(ci)?.[0];
  assert.ok(fresh, '.ci/run has the fresh-clone step');
  const [quickStart] = blocks.filter((block) => block.lang === 'sh');
  const commands = quickStart!.code.split('\n').map((line) => line.replace(/#.*$/, '').trim()).filter(Boolean).flatMap((line) => line.split('&&').map((part) => part.trim()));
  assert.deepEqual(commands, ['npm ci', 'npm run lab', 'npm test']);
  for (const command of commands) assert.ok(fresh.includes(command), `${command} in .ci/run`);
  assert.match(ci, /PATH="\$NODE24_BIN:\$PATH" readme_in_fresh_clone/);
});

test('the sample lab output names lab scenarios with the codes they are blocked with', () => {
  const [sample] = blocks.filter((block) => block.lang === '' && block.code.includes('bytes to attacker'));
  assert.ok(sample);
  const rows = sample.code.split('\n').filter((line) => line.startsWith('✔'));
  assert.ok(rows.length >= 3);
  for (const row of rows) {
    const scenario = SCENARIOS.find((candidate) => row.includes(candidate.title));
    assert.ok(scenario, `no lab scenario titled as in: ${row}`);
    const code = /blocked (ERR_[A-Z_]+)/.exec(row)?.[1];
    assert.equal(code, scenario.expectedCode, row);
  }
});
