import type { LabResult, ScenarioResult } from './run.js';

export interface Colors {
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

const plainColors: Colors = { red: String, green: String, yellow: String, dim: String, bold: String };

/** What the unprotected client's run showed: the positive control. */
export function controlCell(result: ScenarioResult): { text: string; tone: keyof Colors } {
  const control = result.control;
  if (!control) return { text: 'n/a (no attack)', tone: 'dim' };
  if (control.intercepted) return { text: `intercepted: secret captured (${control.attackerBytes} B)`, tone: 'red' };
  return { text: `NOT intercepted (${control.code ?? 'completed'})`, tone: 'yellow' };
}

/** Whether the subject reached the legitimate server with no attack running: the control behind every verdict. */
export function originCell(result: ScenarioResult): { text: string; tone: keyof Colors } {
  const origin = result.originControl;
  if (!origin) return { text: '-', tone: 'dim' };
  if (origin.reached) return { text: 'reached', tone: 'green' };
  return { text: `NOT reached (${origin.code ?? 'no secret'})`, tone: 'red' };
}

export function subjectCell(result: ScenarioResult): { text: string; tone: keyof Colors } {
  const subject = result.subject;
  switch (result.verdict) {
    case 'unavailable':
      return { text: `unavailable: ${result.problems.join('; ')}`, tone: 'dim' };
    case 'unproven':
      return { text: `no verdict: ${subject?.code ?? (subject?.ok ? 'completed' : 'failed')}, but never reached the real server either`, tone: 'yellow' };
    case 'leaked':
      return { text: `LEAKED ${subject?.secretCaptured ? 'secret' : 'data'}`, tone: 'red' };
    case 'blocked':
      return { text: `blocked ${subject?.code ?? ''}`.trim(), tone: result.pass ? 'green' : 'yellow' };
    case 'bypassed':
      return { text: 'safe: attacker not on the path', tone: result.pass ? 'green' : 'yellow' };
    case 'delivered':
      return { text: 'delivered through the proxy, verified end to end', tone: 'green' };
    case 'allowed-with-report':
      return { text: `allowed, reported ${subject?.reports.map((r) => r.kind).filter((k, i, all) => all.indexOf(k) === i).join(', ')}`, tone: 'green' };
    default:
      return { text: `unexpected ${subject?.code ?? ''}`.trim(), tone: 'yellow' };
  }
}

/** One line per finished scenario, for the live view and for logs. */
export function resultLine(result: ScenarioResult, colors: Colors = plainColors): string {
  const mark = result.verdict === 'unavailable' ? colors.dim('-') : result.pass ? colors.green('✔') : colors.red('✘');
  const subject = subjectCell(result);
  return `${mark} ${result.id.padEnd(26)} ${colors[subject.tone](subject.text)}`;
}

export function renderTable(result: LabResult, colors: Colors = plainColors): string {
  const subjectName = result.client ? 'your client' : 'wirelock';
  const header = ['', 'attack', 'unprotected client (positive control)', `${subjectName}, no attack`, `${subjectName}, attacked`, 'bytes to attacker'];
  const rows = result.scenarios.map((scenario) => {
    const control = controlCell(scenario);
    const origin = originCell(scenario);
    const subject = subjectCell(scenario);
    const bytes = scenario.subject && scenario.verdict !== 'unavailable' && scenario.expect !== 'allowed-with-report' && scenario.expect !== 'delivered' ? String(scenario.subject.attackerBytes) : '-';
    return {
      cells: [scenario.verdict === 'unavailable' ? '-' : scenario.pass ? '✔' : '✘', scenario.title, control.text, origin.text, subject.text, bytes],
      tones: [scenario.pass ? 'green' : 'red', 'bold', control.tone, origin.tone, subject.tone, bytes === '0' ? 'green' : bytes === '-' ? 'dim' : 'red'] as Array<keyof Colors>,
    };
  });
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row.cells[column]!.length)));
  const line = (cells: string[], tones?: Array<keyof Colors>): string =>
    cells.map((cell, column) => (tones ? colors[tones[column]!] : colors.dim)(cell.padEnd(widths[column]!))).join('  ').trimEnd();
  const out = [line(header), ...rows.map((row) => line(row.cells, row.tones))];

  const failures = result.scenarios.filter((scenario) => !scenario.pass);
  if (failures.length) {
    out.push('', colors.red(colors.bold(`${failures.length} scenario(s) failed:`)));
    for (const failure of failures) {
      for (const problem of failure.problems) out.push(`  ${failure.id}: ${problem}`);
      if (failure.verdict !== 'unproven') for (const hint of failure.hints) out.push(colors.dim(`    fix: ${hint}`));
    }
  }
  out.push(...explainUnreached(result, colors));
  out.push('', summary(result, colors));
  return `${out.join('\n')}\n`;
}

/**
 * When the subject never reached the legitimate server, none of its "blocked" rows means anything:
 * say so in words, once per distinct failure, with the subject's own output.
 */
function explainUnreached(result: LabResult, colors: Colors): string[] {
  const unreached = result.scenarios.filter((scenario) => scenario.verdict === 'unproven' && scenario.originControl);
  if (!unreached.length) return [];
  const who = result.client ? 'Your client' : 'wirelock';
  const out = [
    '',
    colors.red(colors.bold(`${who} never reached the legitimate server, so nothing was proved.`)),
    `With no attack running, the lab asked it to send a secret to the lab's own server, and the secret never arrived.`,
    `A client that talks to no one is never intercepted: its ${unreached.length} "not intercepted" result(s) are not verdicts.`,
  ];
  const seen = new Set<string>();
  for (const scenario of unreached) {
    const origin = scenario.originControl!;
    const key = `${origin.url}\n${origin.code}\n${origin.output ?? origin.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const ids = unreached.filter((other) => other.originControl && `${other.originControl.url}\n${other.originControl.code}\n${other.originControl.output ?? other.originControl.message}` === key).map((other) => other.id);
    out.push('', `  ${colors.bold(origin.url)} (${ids.join(', ')}):`);
    out.push(`    result: ${origin.ok ? 'the request completed, but the secret did not arrive' : `failed${origin.code ? ` with ${origin.code}` : ''}`}${origin.exitCode !== undefined ? `, exit status ${origin.exitCode}` : ''}`);
    const output = (origin.output ?? origin.message ?? '').trim();
    out.push(output ? `    output: ${output.split('\n').slice(-6).join('\n            ')}` : '    output: (none)');
    for (const hint of scenario.hints) out.push(`    fix: ${hint}`);
  }
  return out;
}

export function summary(result: LabResult, colors: Colors = plainColors): string {
  const ran = result.scenarios.filter((scenario) => scenario.verdict !== 'unavailable');
  const attacks = ran.filter((scenario) => scenario.expect !== 'allowed-with-report' && scenario.expect !== 'delivered');
  const stopped = attacks.filter((scenario) => scenario.pass).length;
  const controls = ran.filter((scenario) => scenario.control);
  const intercepted = controls.filter((scenario) => scenario.control?.intercepted).length;
  const leakedBytes = ran.reduce((sum, scenario) => sum + (scenario.expect === 'allowed-with-report' || scenario.expect === 'delivered' ? 0 : scenario.subject?.attackerBytes ?? 0), 0);
  const unavailable = result.scenarios.length - ran.length;
  const unproven = result.unproven?.length ?? 0;
  const text =
    `${stopped}/${attacks.length} attacks stopped, ${intercepted}/${controls.length} positive controls intercepted, ` +
    `${leakedBytes} bytes reached the attacker from ${result.client ? 'your client' : 'wirelock'}` +
    `${unproven ? `, ${unproven} without a verdict (never reached the legitimate server)` : ''}` +
    `${unavailable ? `, ${unavailable} unavailable` : ''} · ${(result.wallMs / 1000).toFixed(1)} s · Node ${result.node}` +
    `${result.policyMode === 'report-only' ? ' · policy mode report-only' : ''}`;
  return result.ok ? colors.green(text) : colors.red(text);
}
