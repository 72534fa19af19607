// Defaults as App Platform applies them (reference tables), visible in the parsed spec.
import { describe, expect, it } from "vitest";
import { parseAppSpec, type AppSpec } from "../../src/app-spec/index.js";

function parsed(text: string): AppSpec {
  const result = parseAppSpec(text);
  expect(result.problems.filter((p) => p.severity === "error")).toEqual([]);
  if (!result.spec) throw new Error("expected a spec");
  return result.spec;
}

const SOURCE = "    github: {repo: acme/app, branch: main}\n";

describe("defaults", () => {
  it("fills app-level defaults and empty component lists", () => {
    const spec = parsed("name: app\n");
    expect(spec).toEqual({
      name: "app",
      domains: [],
      services: [],
      static_sites: [],
      workers: [],
      jobs: [],
      functions: [],
      databases: [],
      envs: [],
      alerts: [],
      egress: { type: "AUTOASSIGN" },
      features: [],
      disable_edge_cache: false,
      disable_email_obfuscation: false,
      enhanced_threat_control_enabled: false,
    });
  });

  it("gives a service port 8080, one small instance, a TCP readiness check on its port and App Platform's termination", () => {
    const [service] = parsed(`name: app\nservices:\n  - name: web\n${SOURCE}`).services;
    expect(service).toEqual({
      name: "web",
      github: { repo: "acme/app", branch: "main" },
      envs: [],
      http_port: 8080,
      protocol: "HTTP",
      instance_count: 1,
      instance_size_slug: "apps-s-1vcpu-0.5gb",
      health_check: {
        port: 8080,
        initial_delay_seconds: 0,
        period_seconds: 10,
        timeout_seconds: 1,
        success_threshold: 1,
        failure_threshold: 9,
      },
      termination: { drain_seconds: 15, grace_period_seconds: 120 },
    });
  });

  it("defaults a readiness check's port to http_port and keeps the deprecated path as http_path", () => {
    const [service] = parsed(
      `name: app\nservices:\n  - name: web\n${SOURCE}    http_port: 3000\n    health_check:\n      path: /up\n`,
    ).services;
    expect(service?.health_check).toMatchObject({ port: 3000, path: "/up", http_path: "/up", failure_threshold: 9 });
  });

  it("applies the liveness table (initial delay 5, failure threshold 18)", () => {
    const [service] = parsed(
      `name: app\nservices:\n  - name: web\n${SOURCE}    liveness_health_check:\n      http_path: /live\n`,
    ).services;
    expect(service?.liveness_health_check).toEqual({
      http_path: "/live",
      initial_delay_seconds: 5,
      period_seconds: 10,
      timeout_seconds: 1,
      success_threshold: 1,
      failure_threshold: 18,
    });
  });

  it("leaves an internal-only service without http_port and checks its first internal port", () => {
    const [service] = parsed(`name: app\nservices:\n  - name: grpc\n${SOURCE}    internal_ports: [50051]\n`).services;
    expect(service?.http_port).toBeUndefined();
    expect(service?.health_check?.port).toBe(50051);
  });

  it("does not default instance_count when autoscaling decides it", () => {
    const [service] = parsed(
      `name: app\nservices:\n  - name: web\n${SOURCE}    instance_size_slug: apps-d-1vcpu-1gb\n    autoscaling: {min_instance_count: 2, max_instance_count: 4}\n`,
    ).services;
    expect(service?.instance_count).toBeUndefined();
    expect(service?.autoscaling).toEqual({ min_instance_count: 2, max_instance_count: 4 });
  });

  it("defaults CPU autoscaling to 80 percent", () => {
    const [worker] = parsed(
      `name: app\nworkers:\n  - name: wk\n${SOURCE}    instance_size_slug: apps-d-1vcpu-1gb\n    autoscaling: {min_instance_count: 1, max_instance_count: 2, metrics: {cpu: {}}}\n`,
    ).workers;
    expect(worker?.autoscaling?.metrics?.cpu?.percent).toBe(80);
  });

  it("gives workers and jobs a 120 s grace period and no drain, and jobs kind UNSPECIFIED", () => {
    const spec = parsed(`name: app\nworkers:\n  - name: wk\n${SOURCE}jobs:\n  - name: jb\n${SOURCE}`);
    expect(spec.workers[0]).toMatchObject({ instance_count: 1, termination: { grace_period_seconds: 120 } });
    expect(spec.workers[0]?.termination).not.toHaveProperty("drain_seconds");
    expect(spec.jobs[0]).toMatchObject({ kind: "UNSPECIFIED", instance_count: 1, termination: { grace_period_seconds: 120 } });
  });

  it("gives static sites index.html and 404.html, but no error document beside a catch-all", () => {
    const spec = parsed(
      `name: app\nstatic_sites:\n  - name: sa\n${SOURCE}  - name: sb\n${SOURCE}    catchall_document: index.html\n`,
    );
    expect(spec.static_sites[0]).toMatchObject({ index_document: "index.html", error_document: "404.html" });
    expect(spec.static_sites[1]).toMatchObject({ index_document: "index.html", catchall_document: "index.html" });
    expect(spec.static_sites[1]).not.toHaveProperty("error_document");
  });

  it("defaults env scope and type, image tag, database engine and domain type", () => {
    const spec = parsed(
      [
        "name: app",
        "envs:",
        "  - key: A",
        "    value: b",
        "services:",
        "  - name: web",
        "    image: {registry_type: DOCR, repository: web}",
        "databases:",
        "  - name: db",
        "domains:",
        "  - domain: example.com",
        "",
      ].join("\n"),
    );
    expect(spec.envs).toEqual([{ key: "A", value: "b", scope: "RUN_AND_BUILD_TIME", type: "GENERAL" }]);
    expect(spec.services[0]?.image).toEqual({ registry_type: "DOCR", repository: "web", tag: "latest" });
    expect(spec.databases[0]).toEqual({ name: "db", engine: "UNSET" });
    expect(spec.domains[0]).toEqual({ domain: "example.com", type: "UNSPECIFIED" });
  });

  it("defaults redirects to https and 302, open_search index to logs, and treats archive as enabled", () => {
    const spec = parsed(
      [
        "name: app",
        "maintenance: {archive: true}",
        "ingress:",
        "  rules:",
        "    - match: {path: {prefix: /old}}",
        "      redirect: {uri: /new}",
        "services:",
        "  - name: web",
        SOURCE.trimEnd(),
        "    log_destinations:",
        "      - name: search",
        "        open_search: {endpoint: https://search.example.com}",
        "",
      ].join("\n"),
    );
    expect(spec.ingress?.rules[0]?.redirect).toEqual({ uri: "/new", scheme: "https", redirect_code: 302 });
    expect(spec.services[0]?.log_destinations?.[0]?.open_search?.index_name).toBe("logs");
    expect(spec.maintenance).toEqual({ enabled: true, archive: true });
  });

  it("treats a key with nothing after it as absent, as App Platform's decoder does", () => {
    const spec = parsed(`name: app\nenvs:\nservices:\n  - name: web\n${SOURCE}    envs:\n`);
    expect(spec.envs).toEqual([]);
    expect(spec.services[0]?.envs).toEqual([]);
  });

  it("reads preserve_path_prefix given as the string the OpenAPI model uses", () => {
    const spec = parsed(
      `name: app\ningress:\n  rules:\n    - component: {name: web, preserve_path_prefix: "true"}\nservices:\n  - name: web\n${SOURCE}`,
    );
    expect(spec.ingress?.rules[0]?.component?.preserve_path_prefix).toBe(true);
  });
});
