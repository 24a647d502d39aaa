import { EXIT, parseCommandArgs, type Command } from '../command.js';
import { palette, writeJson } from '../output.js';
import { WirelockError } from '../../errors.js';
import { renderTable, resultLine } from '../../lab/render.js';
import { runLab, SCENARIO_IDS, type PolicyMode } from '../../lab/run.js';

const usage = `usage: wirelock lab [--json] [--only <id,...>] [--client "<command>"] [--policy-mode enforce|report-only] [--list]

Runs real interception attacks on loopback, with fresh keys each run. Every scenario runs an
unprotected client (Node's fetch as apps use it) as the positive control, then wirelock under the lab's
policy; wirelock (or your --client) must also reach the lab's legitimate server with no attack running,
or its results prove nothing. Exit 0 only when every attack is stopped with 0 bytes reaching the
attacker AND every positive control was really intercepted AND the subject reached the legitimate
server; 1 otherwise (the failing scenarios are named, with how to fix them); 2 usage error.

  --only <ids>        run these scenarios (comma-separated; see --list)
  --client "<cmd>"    attack your own program instead of wirelock's client: for each scenario the
                      command runs (through the shell) with WIRELOCK_LAB_URL (the URL to call),
                      WIRELOCK_LAB_SECRET (POST it in the request body), WIRELOCK_POLICY (the lab's
                      policy file for this run's keys), WIRELOCK_LAB_CA (PEM of the legitimate trust
                      anchor: curl --cacert "$WIRELOCK_LAB_CA"), WIRELOCK_LAB_PINS (the policy's pins
                      for the host) and the scenario's environment (proxy, CA, NODE_OPTIONS)
  --policy-mode <m>   run wirelock's side in report-only mode to see what a non-enforcing policy lets through
  --json              one JSON object on stdout (for CI)
  --list              list the scenarios and exit`;

export const command: Command = {
  name: 'lab',
  summary: 'run real interception attacks against wirelock (or your client) and show which are blocked',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      json: { type: 'boolean', default: false },
      only: { type: 'string', multiple: true },
      client: { type: 'string' },
      'policy-mode': { type: 'string' },
      list: { type: 'boolean', default: false },
    });
    if (positionals.length) throw new WirelockError('ERR_USAGE', `unexpected argument "${positionals[0]}"`);
    const policyMode = values['policy-mode'] ?? 'enforce';
    if (policyMode !== 'enforce' && policyMode !== 'report-only') throw new WirelockError('ERR_USAGE', `--policy-mode must be enforce or report-only, not "${policyMode}"`);
    if (values.client !== undefined && !values.client.trim()) throw new WirelockError('ERR_USAGE', '--client needs a command');
    if (values.list) {
      io.stdout.write(`${SCENARIO_IDS.join('\n')}\n`);
      return EXIT.OK;
    }
    const scenarios = (values.only ?? []).flatMap((list) => list.split(',')).map((id) => id.trim()).filter(Boolean);
    const colors = palette(io, 'stderr');
    const live = !values.json && Boolean(io.stderr.isTTY);
    const running = new Set<string>();
    const status = (): void => {
      if (live) io.stderr.write(`\r\u001b[2K${running.size ? colors.dim(`running: ${[...running].join(', ')}`) : ''}`);
    };
    const result = await runLab({
      scenarios,
      ...(values.client !== undefined ? { client: values.client } : {}),
      policyMode: policyMode as PolicyMode,
      onEvent(event) {
        if (event.type === 'start') running.add(event.scenario.id);
        else {
          running.delete(event.result.id);
          if (live) io.stderr.write(`\r\u001b[2K${resultLine(event.result, colors)}\n`);
        }
        status();
      },
    });
    if (live) io.stderr.write('\r\u001b[2K\n');
    if (values.json) writeJson(io, result);
    else io.stdout.write(renderTable(result, palette(io)));
    return result.ok ? EXIT.OK : EXIT.FINDINGS;
  },
};
