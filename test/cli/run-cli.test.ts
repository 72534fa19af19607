// runCli in-process against real files: the cases that need no separate process to be believed.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { runCli } from "../../src/cli/run-cli.js";

let dir: string;

async function run(...args: string[]) {
  let stdout = "";
  let stderr = "";
  const code = await runCli(args, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    readFile: (path) => readFile(join(dir, path), "utf8"),
  });
  return { code, stdout, stderr };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "berth-run-cli-"));
  mkdirSync(join(dir, ".do"));
  writeFileSync(join(dir, ".do/app.yaml"), "name: sample\nservices:\n  - name: web\n    github: {repo: acme/web, branch: main}\n");
  writeFileSync(join(dir, "broken.yaml"), "name: sample\nservices:\n  - name: web\n    github: {repo: acme/web}\n    http_port: 0\n");
  writeFileSync(join(dir, "deploy.template.yaml"), "spec:\n  name: sample\n  static_sites:\n    - name: site\n      github: {repo: acme/site}\n");
  writeFileSync(join(dir, "wrapped.yaml"), "spec:\n  name: sample\n");
  mkdirSync(join(dir, "a-directory"));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("berth spec validate", () => {
  it("prints [] with --json for a valid spec", async () => {
    expect(await run("spec", "validate", ".do/app.yaml", "--json")).toEqual({ code: 0, stdout: "[]\n", stderr: "" });
  });

  it("reads deploy.template.yaml with the spec under spec:, and rejects that form elsewhere", async () => {
    expect(await run("spec", "validate", "deploy.template.yaml")).toEqual({ code: 0, stdout: "", stderr: "" });
    const wrapped = await run("spec", "validate", "wrapped.yaml");
    expect(wrapped.code).toBe(1);
    expect(wrapped.stdout).toBe(
      "wrapped.yaml:1:1: error: the app spec is wrapped in spec:, which only .do/deploy.template.yaml uses; move its contents to the top level (at spec)\n",
    );
  });

  it("exits 2 naming a directory and the OS reason", async () => {
    expect(await run("spec", "validate", "a-directory")).toEqual({
      code: 2,
      stdout: "",
      stderr: "berth: cannot read a-directory: illegal operation on a directory (EISDIR)\n",
    });
  });

  it("exits 2 on an unknown option or a second path, with the usage", async () => {
    const option = await run("spec", "validate", "--jsn");
    expect(option.code).toBe(2);
    expect(option.stderr).toMatch(/^berth: Unknown option '--jsn'.*\nusage: berth spec validate \[PATH\] \[--json\]/s);
    const twoPaths = await run("spec", "validate", "a.yaml", "b.yaml");
    expect(twoPaths.code).toBe(2);
    expect(twoPaths.stderr).toMatch(/^berth: expected at most one PATH, found 2\n/);
  });
});

describe("berth spec print", () => {
  it("prints the spec with defaults applied as YAML", async () => {
    const { code, stdout, stderr } = await run("spec", "print");
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    const printed = parse(stdout) as { services: Record<string, unknown>[] };
    expect(printed.services[0]).toMatchObject({
      name: "web",
      http_port: 8080,
      instance_count: 1,
      instance_size_slug: "apps-s-1vcpu-0.5gb",
      termination: { drain_seconds: 15, grace_period_seconds: 120 },
    });
  });

  it("prints problems to stderr and exits 1 when the spec has errors", async () => {
    expect(await run("spec", "print", "broken.yaml")).toEqual({
      code: 1,
      stdout: "",
      stderr: "broken.yaml:5:16: error: must be at least 1, found number 0 (at services[0].http_port)\n",
    });
  });

  it("does not take --json", async () => {
    expect((await run("spec", "print", "--json")).code).toBe(2);
  });
});

describe("berth", () => {
  it("prints help with no command", async () => {
    const { code, stdout } = await run();
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: berth <command> \[options\]/);
  });

  it("exits 2 on an unknown command or subcommand", async () => {
    expect(await run("launch")).toEqual({ code: 2, stdout: "", stderr: 'berth: unknown command "launch"; run berth --help for the list\n' });
    expect(await run("spec", "lint")).toEqual({
      code: 2,
      stdout: "",
      stderr: 'berth: unknown command "spec lint"; expected one of validate, print\n',
    });
    expect(await run("spec", "toString")).toMatchObject({ code: 2 });
  });

  it("lists a group's commands, exiting 2 when none was chosen", async () => {
    const bare = await run("spec");
    expect(bare.code).toBe(2);
    expect(bare.stdout).toContain("berth spec validate");
    expect((await run("spec", "--help")).code).toBe(0);
  });
});
