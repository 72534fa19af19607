// `npm start` with no credentials: Berth serves Probot's manifest flow from app.yml and prints the page to open.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
let child: ChildProcess | undefined;
let home: string | undefined;

afterEach(() => {
  if (child?.pid && child.exitCode === null) process.kill(-child.pid, "SIGTERM");
  if (home) rmSync(home, { recursive: true, force: true });
});

function waitForLine(proc: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = pattern.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    };
    proc.stdout?.on("data", onData);
    proc.stderr?.on("data", onData);
    proc.on("exit", (code) => reject(new Error(`exited with ${code} before printing ${pattern}:\n${output}`)));
  });
}

describe("npm start without credentials", () => {
  it("prints the registration page, which posts app.yml's manifest to GitHub", async () => {
    home = mkdtempSync(join(tmpdir(), "berth-setup-"));
    child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, PORT: "0", HOST: "127.0.0.1", BERTH_URL: "https://berth.example.com" },
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const [, url] = await waitForLine(child, /Register Berth as a GitHub App: open (http:\/\/\S+\/probot)/, 90_000);
    const page = await fetch(url!);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("https://github.com/settings/apps/new");
    const manifest = JSON.parse(/value='([^']+)'/.exec(html)![1]!.replace(/&#(\d+);/g, (_, c: string) => String.fromCharCode(Number(c)))) as Record<string, unknown>;
    expect(manifest).toMatchObject({
      name: "Berth",
      hook_attributes: { url: "https://berth.example.com/api/github/webhooks" },
      default_events: ["push", "pull_request", "check_run", "check_suite", "issue_comment", "commit_comment"],
      default_permissions: { metadata: "read", contents: "read", checks: "write", deployments: "write", pull_requests: "write" },
    });
  }, 120_000);
});
