// `npm run bench [name…]`: runs every bench/*.bench.ts (or the named ones) one after another, each in its own
// process so one benchmark's heap and timers do not colour the next.
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const dir = fileURLToPath(new URL(".", import.meta.url));
const wanted = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort();
let failed = 0;
for (const file of files) {
  console.log(`\n## ${file}`);
  try {
    execFileSync(process.execPath, ["--import", "tsx", `${dir}${file}`], { stdio: "inherit" });
  } catch {
    failed++;
    console.error(`${file} failed`);
  }
}
process.exit(failed ? 1 : 0);
