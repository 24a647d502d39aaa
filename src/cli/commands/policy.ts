import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { WirelockError } from '../../errors.js';
import { lintPolicyDocument, parsePolicyText } from '../../policy/define.js';
import type { PolicyIssue } from '../../policy/types.js';
import { mobileLinter } from '../../mobile/lint.js';
import { EXIT, parseCommandArgs, type Command } from '../command.js';
import { palette, writeJson } from '../output.js';

const usage = `usage: wirelock policy lint <file> [--json] [--strict]

Reports every problem of a policy file at once, each with its JSON pointer.
Exit 0 no error (warnings allowed unless --strict), 1 problems found, 2 unreadable file or not JSON.`;

/** Extra lint passes that other capabilities contribute (mobile rules, ...). */
const extraLinters: Array<(document: unknown, file: string) => Promise<PolicyIssue[]>> = [];
export function registerPolicyLinter(linter: (document: unknown, file: string) => Promise<PolicyIssue[]>): void {
  extraLinters.push(linter);
}
registerPolicyLinter(mobileLinter);

export const command: Command = {
  name: 'policy',
  summary: 'policy file tools: lint',
  usage,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub !== 'lint') throw new WirelockError('ERR_USAGE', sub ? `unknown subcommand "policy ${sub}"` : 'expected a subcommand: lint');
    const { values, positionals } = parseCommandArgs(rest, { json: { type: 'boolean', default: false }, strict: { type: 'boolean', default: false } });
    if (positionals.length !== 1) throw new WirelockError('ERR_USAGE', 'expected exactly one policy file');
    const file = resolve(io.cwd, positionals[0]!);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new WirelockError('ERR_POLICY_INVALID', `cannot read policy file ${file}: ${(error as NodeJS.ErrnoException).code}`, { file });
    }
    const document = parsePolicyText(text, file);
    const issues = lintPolicyDocument(document, { source: file });
    for (const linter of extraLinters) issues.push(...(await linter(document, file)));
    const errors = issues.filter((issue) => issue.severity === 'error').length;
    const warnings = issues.length - errors;
    if (values.json) {
      writeJson(io, { file, errors, warnings, issues });
    } else {
      const c = palette(io);
      for (const issue of issues) {
        const label = issue.severity === 'error' ? c.red('error  ') : c.yellow('warning');
        io.stdout.write(`${label} ${file}#${issue.pointer || '/'}  ${issue.message}  ${c.dim(issue.rule)}\n`);
      }
      io.stdout.write(`${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}\n`);
    }
    return errors > 0 || (values.strict && warnings > 0) ? EXIT.FINDINGS : EXIT.OK;
  },
};
