// `npm run bench`: runs every bench/*.bench.ts in turn. Each file exports `run(): Promise<void>` and
// prints its own table of medians and ratios against a baseline measured side by side.
import { readdirSync } from 'node:fs';

const filter = process.argv.slice(2);
const files = readdirSync(new URL('.', import.meta.url))
  .filter((file) => file.endsWith('.bench.ts'))
  .filter((file) => filter.length === 0 || filter.some((f) => file.includes(f)))
  .sort();
for (const file of files) {
  console.log(`\n## ${file}`);
  const mod = (await import(new URL(file, import.meta.url).href)) as { run: () => Promise<void> };
  await mod.run();
}
