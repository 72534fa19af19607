// The `berth` command as a user runs it: a real child process (`node bin/berth.js …`), exit codes and output.
// The remaining cases drive runCli in-process (run-cli.test.ts); each child process costs a TypeScript load.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const bin = join(import.meta.dirname, "../../bin/berth.js");
let dir: string;

function berth(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: dir, timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "berth-cli-"));
  mkdirSync(join(dir, ".do"));
  writeFileSync(join(dir, ".do/app.yaml"), "name: sample\nservices:\n  - name: web\n    github: {repo: acme/web, branch: main}\n");
  writeFileSync(
    join(dir, "broken.yaml"),
    "name: sample\nregion: nyc3\nservices:\n  - name: web\n    github: {repo: acme/web}\n    http_port: 0\n    helth_check: {}\n",
  );
  writeFileSync(join(dir, "warn.yaml"), "name: sample\nregion: nyc3\n");
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("berth spec validate", () => {
  it("exits 0 with no output for a valid .do/app.yaml (the default path)", async () => {
    expect(await berth("spec", "validate")).toEqual({ code: 0, stdout: "", stderr: "" });
  });

  it("exits 0 on warnings only and prints them", async () => {
    const { code, stdout } = await berth("spec", "validate", "warn.yaml");
    expect(code).toBe(0);
    expect(stdout).toBe("warn.yaml:2:9: warning: region nyc3 is a datacenter slug; App Platform's region is nyc. Berth ignores region (at region)\n");
  });

  it("exits 1 and prints one problem a line, in file order", async () => {
    const { code, stdout } = await berth("spec", "validate", "broken.yaml");
    expect(code).toBe(1);
    expect(stdout.split("\n")).toEqual([
      "broken.yaml:2:9: warning: region nyc3 is a datacenter slug; App Platform's region is nyc. Berth ignores region (at region)",
      "broken.yaml:6:16: error: must be at least 1, found number 0 (at services[0].http_port)",
      'broken.yaml:7:5: error: unknown key "helth_check" (did you mean "health_check"?) (at services[0].helth_check)',
      "",
    ]);
  });

  it("prints a JSON array with --json", async () => {
    const { code, stdout } = await berth("spec", "validate", "--json", "broken.yaml");
    expect(code).toBe(1);
    const problems = JSON.parse(stdout) as unknown[];
    expect(problems).toHaveLength(3);
    expect(problems[1]).toEqual({
      severity: "error",
      message: "must be at least 1, found number 0",
      path: "services[0].http_port",
      line: 6,
      column: 16,
      endLine: 6,
      endColumn: 17,
    });
  });

  it("exits 2 naming the path and the OS reason when the file cannot be read", async () => {
    const missing = await berth("spec", "validate", "nope.yaml");
    expect(missing).toEqual({ code: 2, stdout: "", stderr: "berth: cannot read nope.yaml: no such file or directory (ENOENT)\n" });
  });

});

describe("berth", () => {
  it("prints help with --help", async () => {
    const { code, stdout } = await berth("--help");
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: berth <command> \[options\]/);
    expect(stdout).toContain("berth spec validate");
    expect(stdout).toContain("berth spec print");
  });

});
