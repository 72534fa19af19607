import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ConfigError, defaultRouterWorkers, parseDuration, readConfig } from "../src/config.js";

const pem = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();

function problemsOf(fn: () => unknown): { variable: string; message: string }[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("readConfig", () => {
  it("starts in setup mode with defaults when nothing is set", () => {
    const config = readConfig({}, { cwd: "/srv/berth" });
    expect(config).toEqual({
      github: null,
      githubApiUrl: "https://api.github.com",
      githubWebUrl: "https://github.com",
      githubOrg: undefined,
      host: undefined,
      port: 3000,
      logLevel: "info",
      logFormat: "json",
      webhookProxyUrl: undefined,
      databaseUrl: undefined,
      dataDir: "/srv/berth/.berth",
      concurrency: 2,
      cancelInProgress: false,
      routerPort: 8080,
      routerHost: "0.0.0.0",
      routerWorkers: defaultRouterWorkers(),
      baseDomain: "localhost",
      publicUrlTemplate: undefined,
      berthUrl: "http://localhost:3000",
      runtime: "docker",
      dockerNetwork: "isolated",
      quotas: { maxInstances: 10, maxInstanceSize: "apps-s-2vcpu-4gb", maxAppMemory: 16 * 1024 ** 3, maxBuildsPerApp: 2 },
      instance: "berth",
      buildTimeoutMs: 1_800_000,
      devDatabaseImage: undefined,
      catchUpIntervalMs: 300_000,
      discover: false,
      shutdownGraceMs: 30_000,
      apiToken: undefined,
      metricsAddress: undefined,
      keepDeployments: 20,
      logRetentionMs: 14 * 86_400_000,
      deliveryRetentionMs: 7 * 86_400_000,
      retentionIntervalMs: 3_600_000,
      previewSecrets: [],
      baseImages: { node: undefined, python: undefined, go: undefined },
    });
  });

  it("logs JSON lines unless LOG_FORMAT says otherwise or a person reads a terminal outside production", () => {
    expect(readConfig({}).logFormat).toBe("json");
    expect(readConfig({}, { stdoutIsTTY: true }).logFormat).toBe("pretty");
    expect(readConfig({ NODE_ENV: "production" }, { stdoutIsTTY: true }).logFormat).toBe("json");
    expect(readConfig({ LOG_FORMAT: "pretty" }).logFormat).toBe("pretty");
    expect(readConfig({ LOG_FORMAT: "json" }, { stdoutIsTTY: true }).logFormat).toBe("json");
    expect(problemsOf(() => readConfig({ LOG_FORMAT: "fancy" }))[0]?.variable).toBe("LOG_FORMAT");
  });

  it("reads the retention settings", () => {
    const config = readConfig({ BERTH_KEEP_DEPLOYMENTS: "5", BERTH_LOG_RETENTION: "off", BERTH_DELIVERY_RETENTION: "2d", BERTH_RETENTION_INTERVAL: "10m" });
    expect(config).toMatchObject({ keepDeployments: 5, logRetentionMs: 0, deliveryRetentionMs: 172_800_000, retentionIntervalMs: 600_000 });
    expect(() => readConfig({ BERTH_KEEP_DEPLOYMENTS: "0" })).toThrow(/BERTH_KEEP_DEPLOYMENTS: must be a positive integer/);
  });

  it("reads the repositories whose same-repository previews get production's secrets, and refuses anything else", () => {
    expect(readConfig({ BERTH_PREVIEW_SECRETS: " acme/shop,Acme/Web.site , " }).previewSecrets).toEqual(["acme/shop", "Acme/Web.site"]);
    expect(problemsOf(() => readConfig({ BERTH_PREVIEW_SECRETS: "acme/shop,shop,https://github.com/acme/x" }))).toEqual([
      { variable: "BERTH_PREVIEW_SECRETS", message: expect.stringContaining('"shop", "https://github.com/acme/x"') },
    ]);
  });

  it("takes BERTH_SECRET_KEY and BERTH_SECRET_KEY_PREVIOUS as 32 bytes in hex or base64, naming a wrong one", () => {
    const hex = "ab".repeat(32);
    const base64 = Buffer.alloc(32, 7).toString("base64");
    expect(readConfig({ BERTH_SECRET_KEY: hex, BERTH_SECRET_KEY_PREVIOUS: base64 })).toMatchObject({ secretKey: hex, secretKeyPrevious: base64 });
    expect(readConfig({ BERTH_SECRET_KEY: "" }).secretKey).toBeUndefined();
    expect(problemsOf(() => readConfig({ BERTH_SECRET_KEY: "abc", BERTH_SECRET_KEY_PREVIOUS: "no way!" }))).toEqual([
      { variable: "BERTH_SECRET_KEY", message: expect.stringContaining("must be 32 bytes") },
      { variable: "BERTH_SECRET_KEY_PREVIOUS", message: expect.stringContaining("must be 32 bytes") },
    ]);
  });

  it("reads registered credentials, GitHub Enterprise and every Berth setting", () => {
    const config = readConfig({
      APP_ID: "123",
      PRIVATE_KEY: pem.replace(/\n/g, "\\n"),
      WEBHOOK_SECRET: "s3cret",
      GHE_HOST: "127.0.0.1:4010",
      GHE_PROTOCOL: "http",
      PORT: "0",
      LOG_LEVEL: "debug",
      WEBHOOK_PROXY_URL: "https://smee.io/abc",
      DATABASE_URL: "postgres://u:p@127.0.0.1/db",
      BERTH_DATA_DIR: "/var/lib/berth",
      BERTH_CONCURRENCY: "4",
      BERTH_CANCEL_IN_PROGRESS: "true",
      BERTH_ROUTER_PORT: "9090",
      BERTH_ROUTER_WORKERS: "0",
      BERTH_BASE_DOMAIN: "apps.example.com",
      BERTH_PUBLIC_URL: "https://{app}.apps.example.com",
      BERTH_URL: "https://berth.example.com/",
      BERTH_DOCKER_NETWORK: "bridge",
      BERTH_MAX_INSTANCES: "50",
      BERTH_MAX_INSTANCE_SIZE: "apps-d-8vcpu-32gb",
      BERTH_MAX_APP_MEMORY: "1.5TiB",
      BERTH_MAX_BUILDS_PER_APP: "4",
      BERTH_BUILD_TIMEOUT: "10m",
      BERTH_RUNTIME: "memory",
      BERTH_CATCH_UP_INTERVAL: "30s",
      BERTH_DISCOVER: "true",
      BERTH_API_TOKEN: "a".repeat(32),
      BERTH_METRICS_ADDRESS: "[::1]:9464",
    });
    expect(config.github).toEqual({ appId: 123, privateKey: pem, webhookSecret: "s3cret" });
    expect(config.githubApiUrl).toBe("http://127.0.0.1:4010/api/v3");
    expect(config.githubWebUrl).toBe("http://127.0.0.1:4010");
    expect(config).toMatchObject({
      port: 0,
      logLevel: "debug",
      webhookProxyUrl: "https://smee.io/abc",
      databaseUrl: "postgres://u:p@127.0.0.1/db",
      dataDir: "/var/lib/berth",
      concurrency: 4,
      cancelInProgress: true,
      routerPort: 9090,
      routerWorkers: 0,
      baseDomain: "apps.example.com",
      publicUrlTemplate: "https://{app}.apps.example.com",
      berthUrl: "https://berth.example.com",
      runtime: "memory",
      dockerNetwork: "isolated",
      quotas: { maxInstances: 50, maxInstanceSize: "apps-d-8vcpu-32gb", maxAppMemory: 1.5 * 1024 ** 4, maxBuildsPerApp: 4 },
      buildTimeoutMs: 600_000,
      catchUpIntervalMs: 30_000,
      discover: true,
      apiToken: "a".repeat(32),
      metricsAddress: { host: "::1", port: 9464 },
    });
  });

  it("runs the router in one process per spare core, between one and four", () => {
    expect([1, 2, 3, 4, 8, 64].map((cores) => defaultRouterWorkers(cores))).toEqual([0, 0, 2, 3, 4, 4]);
  });

  it("accepts a base64 PRIVATE_KEY and a PRIVATE_KEY_PATH", () => {
    const fromBase64 = readConfig({ APP_ID: "1", PRIVATE_KEY: Buffer.from(pem).toString("base64"), WEBHOOK_SECRET: "x" });
    expect(fromBase64.github?.privateKey).toBe(pem);
    const read: string[] = [];
    const fromPath = readConfig(
      { APP_ID: "1", PRIVATE_KEY_PATH: "key.pem", WEBHOOK_SECRET: "x" },
      { cwd: "/etc/berth", readFile: (p) => (read.push(p), pem) },
    );
    expect(read).toEqual(["/etc/berth/key.pem"]);
    expect(fromPath.github?.privateKey).toBe(pem);
  });

  it("refuses to start a registered app without a webhook secret", () => {
    expect(problemsOf(() => readConfig({ APP_ID: "1", PRIVATE_KEY: pem }))).toEqual([
      { variable: "WEBHOOK_SECRET", message: expect.stringContaining("required once the app is registered") },
    ]);
  });

  it("names every wrong variable at once", () => {
    const problems = problemsOf(() =>
      readConfig({
        APP_ID: "abc",
        PRIVATE_KEY: "not a key",
        WEBHOOK_SECRET: "x",
        PORT: "70000",
        BERTH_CONCURRENCY: "0",
        BERTH_CATCH_UP_INTERVAL: "soon",
        GHE_PROTOCOL: "ftp",
        BERTH_RUNTIME: "podman",
        BERTH_ROUTER_WORKERS: "auto",
        BERTH_MAX_INSTANCE_SIZE: "huge",
        BERTH_MAX_APP_MEMORY: "lots",
      }),
    );
    expect(problems.map((p) => p.variable).sort()).toEqual(
      ["APP_ID", "BERTH_CATCH_UP_INTERVAL", "BERTH_CONCURRENCY", "BERTH_MAX_APP_MEMORY", "BERTH_MAX_INSTANCE_SIZE", "BERTH_ROUTER_WORKERS", "BERTH_RUNTIME", "GHE_PROTOCOL", "PORT", "PRIVATE_KEY"].sort(),
    );
    expect(problems.find((p) => p.variable === "BERTH_ROUTER_WORKERS")?.message).toContain("0 runs the router inside Berth's own process");
    expect(problems.find((p) => p.variable === "BERTH_CATCH_UP_INTERVAL")?.message).toContain('"soon" is not a duration');
    expect(problems.find((p) => p.variable === "BERTH_MAX_APP_MEMORY")?.message).toBe('must be a size such as 16g or 512m, got "lots"');
  });

  it("refuses an operator token shorter than 32 characters and a metrics address that is not host:port", () => {
    expect(problemsOf(() => readConfig({ BERTH_API_TOKEN: "short", BERTH_METRICS_ADDRESS: "9464" }))).toEqual([
      { variable: "BERTH_API_TOKEN", message: expect.stringContaining("must be at least 32 characters") },
      { variable: "BERTH_METRICS_ADDRESS", message: expect.stringContaining("must be host:port, e.g. 127.0.0.1:9464") },
    ]);
    expect(problemsOf(() => readConfig({ BERTH_METRICS_ADDRESS: "127.0.0.1:99999" }))[0]?.variable).toBe("BERTH_METRICS_ADDRESS");
    expect(readConfig({ BERTH_METRICS_ADDRESS: "127.0.0.1:9464" }).metricsAddress).toEqual({ host: "127.0.0.1", port: 9464 });
  });

  it("asks for the key when only APP_ID is set, and for APP_ID when only a key is set", () => {
    expect(problemsOf(() => readConfig({ APP_ID: "7", WEBHOOK_SECRET: "x" })).map((p) => p.variable)).toEqual(["PRIVATE_KEY"]);
    expect(problemsOf(() => readConfig({ PRIVATE_KEY: pem, WEBHOOK_SECRET: "x" })).map((p) => p.variable)).toEqual(["APP_ID"]);
  });

  it("refuses a PRIVATE_KEY that looks like PEM but is not a key, naming the variable", () => {
    const fake = "-----BEGIN RSA PRIVATE KEY-----\nbm90IGEga2V5IGF0IGFsbA==\n-----END RSA PRIVATE KEY-----\n";
    const [problem] = problemsOf(() => readConfig({ APP_ID: "1", PRIVATE_KEY: fake, WEBHOOK_SECRET: "x" }));
    expect(problem).toEqual({ variable: "PRIVATE_KEY", message: expect.stringMatching(/^looks like a PEM private key but is not one \(.+\): use the \.pem file/) });
    const [fromPath] = problemsOf(() => readConfig({ APP_ID: "1", PRIVATE_KEY_PATH: "/k.pem", WEBHOOK_SECRET: "x" }, { readFile: () => fake }));
    expect(fromPath).toEqual({ variable: "PRIVATE_KEY_PATH", message: expect.stringContaining("/k.pem looks like a PEM private key but is not one") });
  });

  it.each(["0x10", "1e3", "80.0", " 3000x", "-1"])("refuses PORT=%s: ports are decimal", (value) => {
    expect(problemsOf(() => readConfig({ PORT: value }))).toEqual([{ variable: "PORT", message: `must be a port number (0-65535), got "${value}"` }]);
    expect(problemsOf(() => readConfig({ BERTH_ROUTER_PORT: value }))[0]?.variable).toBe("BERTH_ROUTER_PORT");
  });

  it("reports an unreadable PRIVATE_KEY_PATH with the path", () => {
    const problems = problemsOf(() =>
      readConfig({ APP_ID: "1", PRIVATE_KEY_PATH: "/nope.pem", WEBHOOK_SECRET: "x" }, { readFile: () => { throw new Error("ENOENT"); } }),
    );
    expect(problems).toEqual([{ variable: "PRIVATE_KEY_PATH", message: "cannot read /nope.pem: ENOENT" }]);
  });
});

describe("parseDuration", () => {
  it.each([
    ["500ms", 500],
    ["30s", 30_000],
    ["5m", 300_000],
    ["1h", 3_600_000],
    ["14d", 1_209_600_000],
    ["90", 90_000],
    ["off", 0],
    ["0", 0],
  ])("%s is %d ms", (text, ms) => expect(parseDuration(text)).toBe(ms));
});
