import { describe, expect, it } from "vitest";
import { bridgeNetworkName, containerSpecFor, type ContainerInput } from "../../../src/runtime/docker/container-spec.js";

const base: ContainerInput = {
  role: "instance",
  name: "berth-shop-web-d1-0.pending",
  appId: "shop",
  component: "web",
  deploymentId: "d1",
  image: "berth/shop/web:d1",
  runCommand: "node server.js",
  env: { NODE_ENV: "production", API_URL: "http://127.0.0.1:20001" },
  limits: { memory: 512 * 1024 * 1024, cpus: 1 },
  network: "host",
  port: 40123,
};

const hostConfig = {
  Memory: 536870912,
  MemorySwap: 536870912,
  NanoCpus: 1_000_000_000,
  PidsLimit: 4096,
  Privileged: false,
  SecurityOpt: ["no-new-privileges:true"],
  Binds: [],
  Mounts: [],
  Devices: [],
  LogConfig: { Type: "json-file", Config: { "max-size": "10m", "max-file": "3" } },
  Init: true,
};

describe("containerSpecFor", () => {
  it("host mode: the instance listens on its own PORT on the host network, with limits and no privileges", () => {
    expect(containerSpecFor(base)).toEqual({
      name: "berth-shop-web-d1-0.pending",
      Image: "berth/shop/web:d1",
      Cmd: ["/bin/sh", "-c", "node server.js"],
      Env: ["API_URL=http://127.0.0.1:20001", "NODE_ENV=production", "PORT=40123"],
      Labels: {
        "berth.managed": "true",
        "berth.app": "shop",
        "berth.component": "web",
        "berth.deployment": "d1",
        "berth.role": "instance",
        "berth.port": "40123",
      },
      HostConfig: { ...hostConfig, NetworkMode: "host", RestartPolicy: { Name: "unless-stopped", MaximumRetryCount: 0 } },
      Tty: false,
      AttachStdout: true,
      AttachStderr: true,
      StopSignal: "SIGTERM",
    });
  });

  it("bridge mode: http_port published on 127.0.0.1 only, on the app's network under the component's name", () => {
    const spec = containerSpecFor({ ...base, network: "bridge", bridgeNetwork: "berth-shop", port: 8080 });
    expect(spec.HostConfig).toEqual({
      ...hostConfig,
      NetworkMode: "berth-shop",
      RestartPolicy: { Name: "unless-stopped", MaximumRetryCount: 0 },
      PortBindings: { "8080/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] },
    });
    expect(spec.ExposedPorts).toEqual({ "8080/tcp": {} });
    expect(spec.NetworkingConfig).toEqual({ EndpointsConfig: { "berth-shop": { Aliases: ["web"] } } });
    expect(spec.Env).toContain("PORT=8080");
  });

  it("jobs: no restart, no port, the image's own command when no run_command", () => {
    const spec = containerSpecFor({ ...base, role: "job", name: "berth-job-shop-migrate-1", runCommand: undefined, port: undefined });
    expect(spec.Cmd).toBeUndefined();
    expect(spec.Env).toEqual(["API_URL=http://127.0.0.1:20001", "NODE_ENV=production"]);
    expect(spec.HostConfig?.RestartPolicy).toEqual({ Name: "no", MaximumRetryCount: 0 });
    expect(spec.Labels?.["berth.port"]).toBeUndefined();
    expect(spec.Labels?.["berth.role"]).toBe("job");
  });

  it("records what adoption and restart need in a label, and never env values", () => {
    const rollout = {
      appName: "shop",
      kind: "service" as const,
      instanceCount: 2,
      httpPort: 8080,
      termination: { drainSeconds: 15, gracePeriodSeconds: 120 },
      routes: [{ pathPrefix: "/", preservePathPrefix: false }],
      domains: ["shop.example.com"],
      limits: base.limits,
    };
    const spec = containerSpecFor({ ...base, env: { SECRET: "v3ry" }, rollout });
    expect(JSON.parse(spec.Labels!["berth.rollout"]!)).toEqual(rollout);
    expect(spec.Labels!["berth.app-name"]).toBe("shop");
    expect(JSON.stringify(spec.Labels)).not.toContain("v3ry");
  });

  it("names bridge networks after the app", () => {
    expect(bridgeNetworkName("Acme/Shop pr-4")).toBe("berth-acme-shop-pr-4");
  });
});
