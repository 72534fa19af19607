import { describe, expect, it } from "vitest";
import {
  appNetworkName,
  buildNetworkName,
  containerSpecFor,
  type ContainerInput,
} from "../../../src/runtime/docker/container-spec.js";
import { networkSpecFor } from "../../../src/runtime/docker/networks.js";

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
  CapDrop: ["ALL"],
  CapAdd: ["CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "NET_BIND_SERVICE", "SETGID", "SETUID"],
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

  it("isolated mode: the whole options, http_port published on 127.0.0.1 only, on the app's network as the component", () => {
    expect(containerSpecFor({ ...base, network: "isolated", appNetwork: "berth-shop", port: 8080 })).toEqual({
      name: "berth-shop-web-d1-0.pending",
      Image: "berth/shop/web:d1",
      Cmd: ["/bin/sh", "-c", "node server.js"],
      Env: ["API_URL=http://127.0.0.1:20001", "NODE_ENV=production", "PORT=8080"],
      Labels: {
        "berth.managed": "true",
        "berth.app": "shop",
        "berth.component": "web",
        "berth.deployment": "d1",
        "berth.role": "instance",
        "berth.port": "8080",
      },
      HostConfig: {
        Memory: 536870912,
        MemorySwap: 536870912,
        NanoCpus: 1_000_000_000,
        PidsLimit: 4096,
        Privileged: false,
        CapDrop: ["ALL"],
        CapAdd: ["CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "NET_BIND_SERVICE", "SETGID", "SETUID"],
        SecurityOpt: ["no-new-privileges:true"],
        Binds: [],
        Mounts: [],
        Devices: [],
        LogConfig: { Type: "json-file", Config: { "max-size": "10m", "max-file": "3" } },
        Init: true,
        NetworkMode: "berth-shop",
        RestartPolicy: { Name: "unless-stopped", MaximumRetryCount: 0 },
        PortBindings: { "8080/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] },
      },
      ExposedPorts: { "8080/tcp": {} },
      NetworkingConfig: { EndpointsConfig: { "berth-shop": { Aliases: ["web"] } } },
      Tty: false,
      AttachStdout: true,
      AttachStderr: true,
      StopSignal: "SIGTERM",
    });
  });

  it("isolated mode, jobs: on the app's network with the same capabilities, nothing published", () => {
    const spec = containerSpecFor({ ...base, role: "job", network: "isolated", appNetwork: "berth-shop", port: undefined });
    expect(spec.HostConfig).toEqual({ ...hostConfig, NetworkMode: "berth-shop", RestartPolicy: { Name: "no", MaximumRetryCount: 0 } });
    expect(spec.ExposedPorts).toBeUndefined();
    expect(spec.NetworkingConfig).toEqual({ EndpointsConfig: { "berth-shop": { Aliases: ["web"] } } });
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

  it("names an app's networks after the app", () => {
    expect(appNetworkName("Acme/Shop pr-4")).toBe("berth-acme-shop-pr-4");
    expect(buildNetworkName("Acme/Shop pr-4")).toBe("berth-acme-shop-pr-4-build");
  });

  it("creates an app's network as a plain bridge of its own, labelled for the app", () => {
    expect(networkSpecFor("berth-shop", "shop", { "berth.instance": "b1" })).toEqual({
      Name: "berth-shop",
      Driver: "bridge",
      CheckDuplicate: true,
      Internal: false,
      Attachable: false,
      EnableIPv6: false,
      Options: { "com.docker.network.bridge.enable_icc": "true" },
      Labels: { "berth.instance": "b1", "berth.managed": "true", "berth.app": "shop" },
    });
  });
});
