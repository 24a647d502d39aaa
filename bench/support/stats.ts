export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function formatRow(cells: Array<string | number>, widths: number[]): string {
  return cells.map((cell, index) => String(cell).padEnd(widths[index] ?? 12)).join(' ');
}
