// The spec the benchmark validates, shared with the tests that compare the fast and the positional path: a
// valid app with `count` components (half services, then workers, jobs and static sites) and an ingress rule
// for every tenth.
export function generateSpec(count: number): string {
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
