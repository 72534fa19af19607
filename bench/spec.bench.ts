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

/** Runs the contenders in alternation, so a busy machine slows each alike, and reports each one's median. */
function race(runs: number, contenders: Record<string, () => unknown>): Record<string, number> {
  const times: Record<string, number[]> = {};
  for (const [label, fn] of Object.entries(contenders)) {
    times[label] = [];
    for (let i = 0; i < 10; i++) fn();
  }
  for (let round = 0; round < runs; round++) {
    for (const [label, fn] of Object.entries(contenders)) {
      const start = process.hrtime.bigint();
      fn();
      times[label]?.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
  }
  const medians: Record<string, number> = {};
  for (const [label, list] of Object.entries(times)) {
    list.sort((a, b) => a - b);
    medians[label] = list[Math.floor(list.length / 2)] ?? NaN;
    console.log(`${label.padEnd(48)} ${medians[label]?.toFixed(2).padStart(8)} ms median (${runs} runs)`);
  }
  return medians;
}

// The 300-component figure is the target; a 30-component spec shows where the time goes for a typical app.
for (const components of [30, COMPONENTS]) {
  const text = generateSpec(components);
  const check = parseAppSpec(text);
  if (!check.spec) {
    console.error(check.problems.slice(0, 5));
    throw new Error("the generated spec should be valid");
  }
  console.log(`\nspec: ${components} components, ${text.split("\n").length} lines, ${(text.length / 1024).toFixed(0)} KiB`);
  const PEER = "peer: yaml.parse (no validation)";
  const TREE = "yaml.parseDocument + LineCounter (no JS value)";
  const OURS = "parseAppSpec (positions, schema, rules)";
  const medians = race(components === COMPONENTS ? 60 : 200, {
    [PEER]: () => parse(text),
    [TREE]: () => parseDocument(text, { lineCounter: new LineCounter(), version: "1.1", uniqueKeys: false }),
    [OURS]: () => parseAppSpec(text),
  });
  const peer = medians[PEER] ?? NaN;
  const tree = medians[TREE] ?? NaN;
  const ours = medians[OURS] ?? NaN;
  console.log(`parseAppSpec / yaml.parse: ${(ours / peer).toFixed(2)}x`);
  console.log(`time spent past the YAML syntax tree (walk, schema, rules, warnings): ${(ours - tree).toFixed(2)} ms`);
  if (components === COMPONENTS) console.log(`target under 20 ms per validation: ${ours < 20 ? "met" : "missed"}`);
}
