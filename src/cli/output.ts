import type { CommandIo } from './command.js';

/** ANSI colour only on a TTY and never when NO_COLOR is set (https://no-color.org). */
export function palette(io: CommandIo, stream: 'stdout' | 'stderr' = 'stdout') {
  const enabled = Boolean(io[stream].isTTY) && !io.env.NO_COLOR && io.env.TERM !== 'dumb';
  const wrap = (code: number) => (text: string) => (enabled ? `\u001b[${code}m${text}\u001b[0m` : text);
  return { red: wrap(31), green: wrap(32), yellow: wrap(33), dim: wrap(2), bold: wrap(1), cyan: wrap(36) };
}

export function writeJson(io: CommandIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** One-line form of an X.509 name ("CN=a\nO=b" -> "CN=a, O=b"). */
export function oneLine(name: string | undefined): string {
  return (name ?? '').split('\n').join(', ');
}
