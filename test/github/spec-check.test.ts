import nock from "nock";
import { describe, expect, it } from "vitest";
import { createRedactor } from "../../src/core/redact.js";
import { annotationFor, reportSpecCheck } from "../../src/github/spec-check.js";
import { InstallationWriteQueue } from "../../src/github/write-queue.js";
import type { SpecProblem } from "../../src/core/ports.js";
import { API, createTestProbot, mockToken, SHA, useStrictNock } from "./kit.js";

const spec = { path: ".do/app.yaml", text: "name: shop\n" };

describe("annotationFor", () => {
  it("places a problem at its exact line and columns", () => {
    expect(
      annotationFor(".do/app.yaml", {
        severity: "error",
        message: "instance_count must be at least 1",
        path: ["services", 0, "instance_count"],
        line: 7,
        column: 21,
        endLine: 7,
        endColumn: 23,
      }),
    ).toEqual({
      path: ".do/app.yaml",
      start_line: 7,
      end_line: 7,
      start_column: 21,
      end_column: 22,
      annotation_level: "failure",
      title: "services.0.instance_count",
      message: "instance_count must be at least 1",
    });
  });

  it("drops columns on a multi-line range and maps warnings", () => {
    expect(
      annotationFor(".do/app.yaml", { severity: "warning", message: "region is ignored", path: "region", line: 2, column: 1, endLine: 4, endColumn: 3 }),
    ).toEqual({ path: ".do/app.yaml", start_line: 2, end_line: 4, annotation_level: "warning", title: "region", message: "region is ignored" });
  });
});

describe("reportSpecCheck", () => {
  useStrictNock();

  it("sends 120 annotations as 50 on create, then 50 and 20 in updates", async () => {
    const problems: SpecProblem[] = Array.from({ length: 120 }, (_, i) => ({
      severity: "error",
      message: `problem ${i}`,
      path: ["services", i],
      line: i + 1,
      column: 3,
      endLine: i + 1,
      endColumn: 9,
    }));
    const probot = createTestProbot();
    const github = await probot.auth(42);
    mockToken(42);
    const requests: { method: string; count: number; conclusion?: string; first?: string }[] = [];
    nock(API)
      .post("/repos/octo/shop/check-runs", (b) => {
        requests.push({ method: "create", count: b.output.annotations.length, conclusion: b.conclusion, first: b.output.annotations[0].message });
        return b.name === "spec" && b.head_sha === SHA && b.status === "completed" && b.output.title === "120 errors in .do/app.yaml";
      })
      .reply(201, { id: 9 })
      .patch("/repos/octo/shop/check-runs/9", (b) => (requests.push({ method: "update", count: b.output.annotations.length, first: b.output.annotations[0].message }), true))
      .twice()
      .reply(200, { id: 9 });
    const body = await reportSpecCheck({
      github,
      writes: new InstallationWriteQueue(),
      redact: createRedactor().redact,
      installationId: 42,
      repository: "octo/shop",
      sha: SHA,
      spec,
      problems,
    });
    expect(body.conclusion).toBe("failure");
    expect(requests).toEqual([
      { method: "create", count: 50, conclusion: "failure", first: "problem 0" },
      { method: "update", count: 50, first: "problem 50" },
      { method: "update", count: 20, first: "problem 100" },
    ]);
  });

  it("passes a valid spec with one request and no annotations", async () => {
    const probot = createTestProbot();
    const github = await probot.auth(42);
    mockToken(42);
    nock(API)
      .post("/repos/octo/shop/check-runs", (b) => {
        expect(b).toMatchObject({
          conclusion: "success",
          output: { title: ".do/app.yaml is valid", summary: "Berth read `.do/app.yaml` and found nothing to fix." },
        });
        expect(b.output.annotations).toBeUndefined();
        return true;
      })
      .reply(201, { id: 9 });
    await reportSpecCheck({ github, writes: new InstallationWriteQueue(), redact: (s) => s, installationId: 42, repository: "octo/shop", sha: SHA, spec, problems: [] });
  });

  it("annotates at most 200 problems (four requests) and says how many more there are", async () => {
    const problems: SpecProblem[] = Array.from({ length: 5_000 }, (_, i) => ({
      severity: "error",
      message: `problem ${i} ${"x".repeat(i === 0 ? 10_000 : 0)}`.trim(),
      path: ["services", i],
      line: i + 1,
      column: 3,
      endLine: i + 1,
      endColumn: 9,
    }));
    const probot = createTestProbot();
    const github = await probot.auth(42);
    mockToken(42);
    const counts: number[] = [];
    let summary = "";
    nock(API)
      .post("/repos/octo/shop/check-runs", (b) => (counts.push(b.output.annotations.length), (summary = b.output.summary), true))
      .reply(201, { id: 9 })
      .patch("/repos/octo/shop/check-runs/9", (b) => (counts.push(b.output.annotations.length), true))
      .times(3)
      .reply(200, { id: 9 });
    const body = await reportSpecCheck({ github, writes: new InstallationWriteQueue(), redact: (s) => s, installationId: 42, repository: "octo/shop", sha: SHA, spec, problems });
    expect(counts).toEqual([50, 50, 50, 50]);
    expect(body.title).toBe("5000 errors in .do/app.yaml");
    expect(summary).toContain("and 4800 more problems not annotated");
    expect(summary).toContain("…and 4800 more problems not listed");
    expect(summary.split("\n").filter((l) => l.startsWith("- ❌"))).toHaveLength(200);
    expect(summary.length).toBeLessThan(200 * 600);
    expect(body.batches[0]?.[0]?.message.length).toBeLessThanOrEqual(500);
  });
});
