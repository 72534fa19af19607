// Ranges: where a problem starts and ends, for annotations on the exact characters.
import { describe, expect, it } from "vitest";
import { formatProblem, isDeployTemplate, parseAppSpec } from "../../src/app-spec/index.js";

describe("problem ranges", () => {
  it("spans a scalar value, end exclusive", () => {
    const { problems } = parseAppSpec("name: app\nservices:\n  - name: web\n    github: {repo: a/b}\n    http_port: 99999\n");
    expect(problems).toEqual([
      {
        severity: "error",
        message: "must be at most 65535, found number 99999",
        path: "services[0].http_port",
        line: 5,
        column: 16,
        endLine: 5,
        endColumn: 21,
      },
    ]);
  });

  it("spans the key of an unknown key", () => {
    const { problems } = parseAppSpec("name: app\nregoin: fra\n");
    expect(problems).toEqual([
      {
        severity: "error",
        message: 'unknown key "regoin" (did you mean "region"?)',
        path: "regoin",
        line: 2,
        column: 1,
        endLine: 2,
        endColumn: 7,
      },
    ]);
  });

  it("places a missing key on its parent's key", () => {
    const { problems } = parseAppSpec("name: app\nservices:\n  - name: web\n    github: {repo: a/b}\n    health_check: {}\n    envs:\n      - value: x\n");
    expect(problems.map((p) => [p.path, p.line, p.column, p.endLine, p.endColumn])).toEqual([["services[0].envs[0].key", 7, 9, 7, 17]]);
  });

  it("places a problem inside a flow mapping on the flow value", () => {
    const { problems } = parseAppSpec("name: app\nservices:\n  - {name: web, github: {repo: a/b}, http_port: 0}\n");
    expect(problems.map((p) => [p.path, p.line, p.column, p.endColumn])).toEqual([["services[0].http_port", 3, 49, 50]]);
  });

  it("reports a multi-line quoted value with its full range", () => {
    const { problems } = parseAppSpec('name: app\nregion: "no\n  where"\n');
    expect(problems.map((p) => [p.path, p.line, p.column, p.endLine, p.endColumn])).toEqual([["region", 2, 9, 3, 9]]);
  });

  it("reports a YAML syntax error alone, even when the fields are wrong too", () => {
    const { spec, problems } = parseAppSpec("name: Not Valid\nservices: [\n");
    expect(spec).toBeNull();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ severity: "error", path: "", line: 3, column: 1 });
  });

  it("counts lines after CRLF line endings and a byte-order mark", () => {
    const { problems } = parseAppSpec("\uFEFFname: app\r\nservices:\r\n  - name: web\r\n    github: {repo: a/b}\r\n    http_port: -1\r\n");
    expect(problems.map((p) => [p.path, p.line, p.column])).toEqual([["services[0].http_port", 5, 16]]);
  });

  it("formats one problem a line with file, position, severity and path", () => {
    const { problems } = parseAppSpec("name: app\nregion: mars\n");
    expect(problems.map((p) => formatProblem(p, ".do/app.yaml"))).toEqual([
      ".do/app.yaml:2:9: error: region must be one of atl, nyc, sfo, tor, ams, fra, lon, blr, sgp, syd, found \"mars\" (at region)",
    ]);
    expect(formatProblem({ ...problems[0]!, path: "" }, "x.yaml")).toBe(
      'x.yaml:2:9: error: region must be one of atl, nyc, sfo, tor, ams, fra, lon, blr, sgp, syd, found "mars"',
    );
  });
});

describe("deploy templates", () => {
  it("validates the spec under spec: and reports paths as written in the file", () => {
    const { spec, problems } = parseAppSpec("spec:\n  name: app\n  services:\n    - name: web\n      github: {repo: a/b}\n      http_port: 0\n", { template: true });
    expect(spec).toBeNull();
    expect(problems.map((p) => [p.path, p.line, p.column])).toEqual([["spec.services[0].http_port", 6, 18]]);
  });

  it("returns the inner spec of a valid template", () => {
    const { spec } = parseAppSpec("spec:\n  name: app\n", { template: true });
    expect(spec?.name).toBe("app");
  });
});

describe("isDeployTemplate", () => {
  it("recognises deploy.template.yaml by file name only", () => {
    expect(isDeployTemplate(".do/deploy.template.yaml")).toBe(true);
    expect(isDeployTemplate("deploy.template.yml")).toBe(true);
    expect(isDeployTemplate("C:\\repo\\.do\\deploy.template.yaml")).toBe(true);
    expect(isDeployTemplate(".do/app.yaml")).toBe(false);
    expect(isDeployTemplate(".do/my-deploy.template.yaml")).toBe(false);
  });
});
