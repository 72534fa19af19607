// Validating a generated 300-component spec with parseAppSpec, which takes its fast path on a valid spec,
// against the positional path alone (what every spec with a problem goes through) and the two YAML readers
// as peers: `yaml.parse` and js-yaml's `load`, the floors of the two paths. Then an invalid spec of the same
// size, one error, so the cost of a spec with problems (a fast try, then the positional path) shows too.
import { load } from "js-yaml";
import { parse } from "yaml";
import { parseAppSpec } from "../src/app-spec/index.js";
import { parseAppSpecWithPositions } from "../src/app-spec/parse-app-spec.js";
import { generateSpec } from "../test/app-spec/generate-spec.js";

const COMPONENTS = 300;

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
// Each path races its own floor: the fast path js-yaml's load, the positional path yaml.parse. Raced all
// together, the fast path would also pay for collecting the garbage of the two 130 ms contenders.
for (const components of [30, COMPONENTS]) {
  const text = generateSpec(components);
  const check = parseAppSpec(text);
  if (!check.spec || check.problems.length > 0) {
    console.error(check.problems.slice(0, 5));
    throw new Error("the generated spec should be valid, without warnings");
  }
  console.log(`\nspec: ${components} components, ${text.split("\n").length} lines, ${(text.length / 1024).toFixed(0)} KiB`);
  const OURS = "parseAppSpec (fast path: a valid spec)";
  const JSYAML = "peer: js-yaml load (no validation)";
  const runs = components === COMPONENTS ? 60 : 200;
  const fast = race(runs, { [OURS]: () => parseAppSpec(text), [JSYAML]: () => load(text) });
  race(Math.ceil(runs / 3), {
    "parseAppSpecWithPositions (positional path alone)": () => parseAppSpecWithPositions(text),
    "peer: yaml.parse (no validation)": () => parse(text, { version: "1.1" }),
  });
  const ours = fast[OURS] ?? NaN;
  console.log(`parseAppSpec / js-yaml load: ${(ours / (fast[JSYAML] ?? NaN)).toFixed(2)}x`);
  console.log(`time spent past js-yaml's load (scalars, walk, schema, rules, warnings): ${(ours - (fast[JSYAML] ?? NaN)).toFixed(2)} ms`);
  if (components === COMPONENTS) console.log(`target under 20 ms per validation: ${ours < 20 ? "met" : "missed"}`);
}

// One error in the same 300-component spec: the fast path finds a problem and the positional path places it.
const invalid = generateSpec(COMPONENTS).replace("    http_port: 8080\n", "    http_port: 99999\n");
const errors = parseAppSpec(invalid).problems;
if (errors.length !== 1 || errors[0]?.severity !== "error") throw new Error("the invalid spec should have exactly one error");
console.log(`\ninvalid spec: ${COMPONENTS} components, one error (${errors[0].path}: ${errors[0].message})`);
race(20, { "parseAppSpec (fast try, then positional path)": () => parseAppSpec(invalid) });
