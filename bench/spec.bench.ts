// Validating a generated 300-component spec: parseAppSpec (YAML with positions, schema, rules, warnings)
// against plain `yaml.parse` of the same text, the floor any validator of this file pays.
import { LineCounter, parse, parseDocument } from "yaml";
import { parseAppSpec } from "../src/spec/index.js";

const COMPONENTS = 300;

function generateSpec(count: number): string {
  const lines = ["name: bench-app", "region: fra", "envs:", "  - key: LOG_LEVEL", "    value: info", "services:"];
  const kinds = { services: [] as string[], workers: [] as string[], jobs: [] as string[], static_sites: [] as string[] };
  for (let i = 0; i < count; i++) {
    const name = `c${i}`;
    const kind = i % 10 < 5 ? "services" : i % 10 < 7 ? "workers" : i % 10 < 9 ? "jobs" : "static_sites";
    const block = [
      `  - name: ${name}`,
      "    github:",
      "      repo: acme/monorepo",
      "      branch: main",
      `    source_dir: /apps/${name}`,
      "    envs:",
      "      - key: DATABASE_URL",
      "        value: ${db.DATABASE_URL}",
      "        scope: RUN_TIME",
      "      - key: API_KEY",
      "        value: EV[1:abc:def]",
      "        type: SECRET",
    ];
    if (kind === "services") {
      block.push(
        "    http_port: 8080",
        "    instance_size_slug: apps-s-1vcpu-1gb",
        "    instance_count: 1",
        "    health_check:",
        `      http_path: /${name}/health`,
        "      period_seconds: 5",
      );
    } else if (kind === "workers") {
      block.push("    run_command: node worker.js", "    termination:", "      grace_period_seconds: 60");
    } else if (kind === "jobs") {
      block.push(`    kind: ${i % 2 ? "PRE_DEPLOY" : "POST_DEPLOY"}`, "    run_command: npm run task");
    } else {
      block.splice(5, 7);
      block.push("    output_dir: dist", "    catchall_document: index.html");
    }
    kinds[kind].push(...block);
  }
  lines.push(...kinds.services, "workers:", ...kinds.workers, "jobs:", ...kinds.jobs, "static_sites:", ...kinds.static_sites);
  lines.push("ingress:", "  rules:");
  for (let i = 0; i < count; i += 10) {
    lines.push("    - match:", "        path:", `          prefix: /c${i}`, "      component:", `        name: c${i}`);
  }
  lines.push("databases:", "  - name: db", "    engine: PG");
  return `${lines.join("\n")}\n`;
}

function measure(label: string, runs: number, fn: () => unknown): number {
  for (let i = 0; i < Math.min(20, runs); i++) fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) fn();
  const ms = Number(process.hrtime.bigint() - start) / 1e6 / runs;
  console.log(`${label.padEnd(48)} ${ms.toFixed(2).padStart(8)} ms per run (${runs} runs)`);
  return ms;
}

const text = generateSpec(COMPONENTS);
const check = parseAppSpec(text);
if (!check.spec) {
  console.error(check.problems.slice(0, 5));
  throw new Error("the generated spec should be valid");
}
console.log(`spec: ${COMPONENTS} components, ${text.split("\n").length} lines, ${(text.length / 1024).toFixed(0)} KiB`);
const peer = measure("peer: yaml.parse (no validation)", 100, () => parse(text));
const tree = measure("yaml.parseDocument + LineCounter (no JS value)", 100, () =>
  parseDocument(text, { lineCounter: new LineCounter(), version: "1.1", uniqueKeys: false }),
);
const ours = measure("parseAppSpec (positions, schema, rules)", 100, () => parseAppSpec(text));
console.log(`parseAppSpec / yaml.parse: ${(ours / peer).toFixed(2)}x`);
console.log(`time spent past the YAML syntax tree (walk, schema, rules, warnings): ${(ours - tree).toFixed(2)} ms`);
console.log(`target under 20 ms per validation: ${ours < 20 ? "met" : "missed"}`);
