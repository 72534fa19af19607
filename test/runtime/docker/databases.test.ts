import { execFile, execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import Dockerode from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bindingFromUrl,
  devDatabaseSpecFor,
  dockerDevDatabases,
  resolveDatabases,
  type DevDatabaseProvisioner,
} from "../../../src/runtime/docker/databases.js";
import { readDatabasesConfig, type DatabasesConfig } from "../../../src/runtime/docker/databases-config.js";
import { RuntimeError } from "../../../src/runtime/runtime.js";
import { ensureTestImages, TEST_LABEL } from "../../helpers/docker-images.js";
import { dockerUnavailable } from "../../helpers/services.js";

describe("bindingFromUrl", () => {
  it("splits a PostgreSQL URL into the db bindables", () => {
    expect(bindingFromUrl("db", "postgresql://app%40x:p%2Fss@db.internal:25060/shop?sslmode=require")).toEqual({
      DATABASE_URL: "postgresql://app%40x:p%2Fss@db.internal:25060/shop?sslmode=require",
      HOSTNAME: "db.internal",
      PORT: "25060",
      USERNAME: "app@x",
      PASSWORD: "p/ss",
      DATABASE: "shop",
    });
  });

  it("fills the engine's default port, the spec's db_name, and REDIS_URL for Redis", () => {
    expect(bindingFromUrl("cache", "redis://:secret@127.0.0.1", { name: "cache", engine: "REDIS" })).toEqual({
      DATABASE_URL: "redis://:secret@127.0.0.1",
      HOSTNAME: "127.0.0.1",
      PORT: "6379",
      USERNAME: "",
      PASSWORD: "secret",
      DATABASE: "",
      REDIS_URL: "redis://:secret@127.0.0.1",
    });
    expect(bindingFromUrl("db", "postgres://u:p@h", { name: "db", db_name: "main" })).toMatchObject({ PORT: "5432", DATABASE: "main" });
  });

  it("refuses a malformed URL without echoing it", () => {
    expect(() => bindingFromUrl("db", "not a url pw=hunter2")).toThrow(
      /^database "db": the connection URL configured for it is not a valid URL \(BERTH_DATABASES/,
    );
    try {
      bindingFromUrl("db", "not a url pw=hunter2");
    } catch (err) {
      expect((err as Error).message).not.toContain("hunter2");
    }
  });
});

describe("readDatabasesConfig", () => {
  const shop = "postgres://shop:pw@db.internal:5432/shop";

  it("reads bindings per repository and environment, the variable winning over the file per name", () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-dbconf-"));
    try {
      const file = join(dir, "dbs.json");
      writeFileSync(file, JSON.stringify({ "octo/shop": { db: "postgres://a@h/x", cache: "redis://h" }, "octo/shop#pr-*": { db: "postgres://p@h/x" } }));
      const config = readDatabasesConfig({
        BERTH_DATABASES_FILE: file,
        BERTH_DATABASES: JSON.stringify({ "Octo/Shop#production": { db: shop }, "octo/shop#pr-7": { db: "postgres://seven@h/x" } }),
      });
      expect(config).toEqual(
        new Map([
          ["octo/shop#production", new Map([["db", shop], ["cache", "redis://h"]])],
          ["octo/shop#pr-*", new Map([["db", "postgres://p@h/x"]])],
          ["octo/shop#pr-7", new Map([["db", "postgres://seven@h/x"]])],
        ]),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses the old flat map in one line that shows the new form", () => {
    const err = (() => {
      try {
        readDatabasesConfig({ BERTH_DATABASES: JSON.stringify({ db: shop }) });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err?.message).toBe(
      'BERTH_DATABASES maps database names to URLs for every app; bindings are now per repository: {"owner/name": {"db": "postgres://…"}, "owner/name#pr-*": {"db": "postgres://…"}} (see docs/docker-runtime.md#databases)',
    );
    expect(err?.message).not.toContain(shop);
    expect(err?.message).not.toContain("\n");
  });

  it("names the variable, the scope and the database of what is malformed, never echoing a URL", () => {
    expect(() => readDatabasesConfig({ BERTH_DATABASES: "{db:" })).toThrow(/^BERTH_DATABASES is not valid JSON/);
    expect(() => readDatabasesConfig({ BERTH_DATABASES: "[]" })).toThrow(
      /^BERTH_DATABASES must be a JSON object of "owner\/name" or "owner\/name#environment" → \{database name → connection URL\}/,
    );
    expect(() => readDatabasesConfig({ BERTH_DATABASES: '{"octo/shop#preview": {"db": "postgres://h"}}' })).toThrow(
      'BERTH_DATABASES: "octo/shop#preview" is not "owner/name" or "owner/name#<environment>" (production, pr-* for every preview, pr-<number> for one)',
    );
    expect(() => readDatabasesConfig({ BERTH_DATABASES: '{"octo/shop": {"db": 5}}' })).toThrow(
      'BERTH_DATABASES: "octo/shop" must map database names to connection URL strings',
    );
    const bad = () => readDatabasesConfig({ BERTH_DATABASES: '{"octo/shop": {"db": "pw=hunter2 not a url"}}' });
    expect(bad).toThrow('BERTH_DATABASES: "octo/shop" → "db" is not a valid connection URL');
    expect(bad).not.toThrow(/hunter2/);
    expect(readDatabasesConfig({})).toEqual(new Map());
  });
});

describe("Berth's start with BERTH_DATABASES in the old flat form", () => {
  it("refuses in one line that names the variable, with no stack trace", async () => {
    const home = mkdtempSync(join(tmpdir(), "berth-dbstart-"));
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048, privateKeyEncoding: { type: "pkcs1", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });
    try {
      const run = promisify(execFile)(process.execPath, ["--import", "tsx", "src/main.ts"], {
        cwd: fileURLToPath(new URL("../../..", import.meta.url)),
        env: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          HOME: home,
          BERTH_DATA_DIR: join(home, "data"),
          APP_ID: "1",
          PRIVATE_KEY: privateKey,
          WEBHOOK_SECRET: "s3cret-for-test",
          PORT: "0",
          BERTH_DATABASES: '{"db":"postgres://u:hunter2@h/app"}',
        },
        timeout: 60_000,
      });
      const err = (await run.then(() => undefined, (e: unknown) => e)) as { code?: number; stderr?: string } | undefined;
      expect(err?.code).toBe(1);
      expect(err?.stderr).toBe(
        "Berth's configuration is invalid:\n" +
          '  - BERTH_DATABASES maps database names to URLs for every app; bindings are now per repository: {"owner/name": {"db": "postgres://…"}, "owner/name#pr-*": {"db": "postgres://…"}} (see docs/docker-runtime.md#databases)\n',
      );
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }, 90_000);
});

describe("resolveDatabases", () => {
  const prodUrl = "postgres://u:pw1@h:5432/app";
  const config: DatabasesConfig = new Map([
    ["octo/shop#production", new Map([["db", prodUrl], ["prod-cluster", "postgres://v:pw2@h2:5432/main"], ["kv", "redis://:pw3@h3"]])],
    ["octo/blog#pr-*", new Map([["db", "postgres://preview:pw4@h4/blog"]])],
    ["octo/blog#pr-9", new Map([["db", "postgres://nine:pw5@h5/blog"]])],
  ]);
  const production = { appId: "app1", repository: "octo/shop", environment: "production" };
  const devUrl = (appId: string) => `postgresql://dev:pw@127.0.0.1:15500/${appId}`;
  function devDatabases() {
    const asked: string[] = [];
    const provisionDev: DevDatabaseProvisioner = async (appId, db) => (asked.push(`${appId}/${db.name}`), devUrl(appId));
    return { asked, provisionDev };
  }

  it("binds production by component name or cluster_name and lists the secrets", async () => {
    const r = await resolveDatabases(
      [
        { name: "db", engine: "PG" },
        { name: "main", engine: "PG", production: true, cluster_name: "prod-cluster" },
      ],
      production,
      { config },
    );
    expect(Object.keys(r.bindings)).toEqual(["db", "main"]);
    expect(r.bindings.main?.HOSTNAME).toBe("h2");
    expect(r.secrets).toEqual([prodUrl, "pw1", "postgres://v:pw2@h2:5432/main", "pw2"]);
  });

  it("fails an unconfigured production database with the setting to add", async () => {
    const err = (await resolveDatabases([{ name: "orders", engine: "PG", production: true, cluster_name: "big" }], production, {
      config,
      provisionDev: async () => "postgres://never",
    }).catch((e: unknown) => e)) as RuntimeError;
    expect(err).toBeInstanceOf(RuntimeError);
    expect(err.message).toBe(
      'orders: production database is not configured for octo/shop; add "orders" or "big" under "octo/shop" in BERTH_DATABASES or BERTH_DATABASES_FILE',
    );
  });

  it("never shows one repository's bindings to another", async () => {
    const other = { appId: "app2", repository: "octo/evil", environment: "production" };
    const dev = devDatabases();
    const r = await resolveDatabases([{ name: "db", engine: "PG" }], other, { config, ...dev });
    expect(r.bindings.db?.DATABASE_URL).toBe(devUrl("app2"));
    await expect(resolveDatabases([{ name: "kv", engine: "REDIS", production: true }], other, { config, ...dev })).rejects.toThrow(
      'kv: production database (engine REDIS) is not configured for octo/evil; add "kv" under "octo/evil" in BERTH_DATABASES',
    );
    await expect(
      resolveDatabases([{ name: "main", production: true, cluster_name: "prod-cluster" }], other, { config, ...dev }),
    ).rejects.toThrow(/^main: production database is not configured for octo\/evil/);
  });

  it("gives a preview its own dev database, never production's", async () => {
    const dev = devDatabases();
    const dbs = [{ name: "db", engine: "PG" }, { name: "main", production: true, cluster_name: "prod-cluster" }];
    const pr1 = await resolveDatabases(dbs, { appId: "shop-pr-1", repository: "octo/shop", environment: "pr-1" }, { config, ...dev });
    const pr2 = await resolveDatabases(dbs, { appId: "shop-pr-2", repository: "octo/shop", environment: "pr-2" }, { config, ...dev });
    expect(dev.asked).toEqual(["shop-pr-1/db", "shop-pr-1/main", "shop-pr-2/db", "shop-pr-2/main"]);
    expect(pr1.bindings.db?.DATABASE_URL).toBe(devUrl("shop-pr-1"));
    expect(pr2.bindings.main?.DATABASE_URL).toBe(devUrl("shop-pr-2"));
    expect([...pr1.secrets, ...pr2.secrets].join(" ")).not.toMatch(/pw1|pw2/);
    await expect(
      resolveDatabases([{ name: "kv", engine: "REDIS", production: true }], { appId: "p", repository: "octo/shop", environment: "pr-1" }, { config, ...dev }),
    ).rejects.toThrow('kv: production database (engine REDIS) is not configured for the previews of octo/shop; add "kv" under "octo/shop#pr-*" in BERTH_DATABASES');
  });

  it("gives a preview what the operator configured for the repository's previews, one preview's entry first", async () => {
    const dev = devDatabases();
    const pr3 = await resolveDatabases([{ name: "db" }], { appId: "blog-pr-3", repository: "Octo/Blog", environment: "pr-3" }, { config, ...dev });
    const pr9 = await resolveDatabases([{ name: "db" }], { appId: "blog-pr-9", repository: "octo/blog", environment: "pr-9" }, { config, ...dev });
    expect(pr3.bindings.db?.DATABASE_URL).toBe("postgres://preview:pw4@h4/blog");
    expect(pr9.bindings.db?.DATABASE_URL).toBe("postgres://nine:pw5@h5/blog");
    const prod = await resolveDatabases([{ name: "db" }], { appId: "blog", repository: "octo/blog", environment: "production" }, { config, ...dev });
    expect(prod.bindings.db?.DATABASE_URL).toBe(devUrl("blog"));
    expect(dev.asked).toEqual(["blog/db"]);
  });

  it("gives a fork's preview dev databases only, whatever is configured", async () => {
    const dev = devDatabases();
    const fork = { appId: "blog-pr-9", repository: "octo/blog", environment: "pr-9", untrusted: true };
    const r = await resolveDatabases([{ name: "db" }], fork, { config, ...dev });
    expect(r.bindings.db?.DATABASE_URL).toBe(devUrl("blog-pr-9"));
    expect(r.secrets.join(" ")).not.toMatch(/pw4|pw5/);
    await expect(resolveDatabases([{ name: "kv", engine: "REDIS" }], fork, { config, ...dev })).rejects.toThrow(
      "kv: database (engine REDIS) cannot be given to a fork's preview; forks get dev PostgreSQL databases only",
    );
  });

  it("provisions an unconfigured dev PostgreSQL, and refuses other dev engines", async () => {
    const dev = devDatabases();
    const r = await resolveDatabases([{ name: "constructor", engine: "PG" }], production, { config, ...dev });
    expect(dev.asked).toEqual(["app1/constructor"]);
    expect(Object.keys(r.bindings)).toEqual(["constructor"]);
    expect(Object.values(r.bindings)[0]?.PORT).toBe("15500");
    await expect(
      resolveDatabases([{ name: "cache", engine: "REDIS" }], production, { config, provisionDev: async () => "x" }),
    ).rejects.toThrow('cache: database (engine REDIS) is not configured for octo/shop; add "cache" under "octo/shop" in BERTH_DATABASES');
  });
});

describe("devDatabaseSpecFor", () => {
  it("host mode: PostgreSQL on its own port on 127.0.0.1 with a named volume", () => {
    expect(
      devDatabaseSpecFor({ appId: "shop", db: { name: "db" }, image: "postgres:16", network: "host", port: 15999, password: "pw" }),
    ).toEqual({
      name: "berth-db-shop-db",
      Image: "postgres:16",
      Cmd: ["postgres", "-p", "15999", "-c", "listen_addresses=127.0.0.1"],
      Env: ["POSTGRES_USER=db", "POSTGRES_PASSWORD=pw", "POSTGRES_DB=db", "PGDATA=/var/lib/postgresql/data/pgdata"],
      Labels: {
        "berth.managed": "true",
        "berth.app": "shop",
        "berth.component": "db",
        "berth.role": "database",
        "berth.port": "15999",
      },
      HostConfig: {
        NetworkMode: "host",
        Mounts: [{ Type: "volume", Source: "berth-db-shop-db", Target: "/var/lib/postgresql/data" }],
        RestartPolicy: { Name: "unless-stopped", MaximumRetryCount: 0 },
        SecurityOpt: ["no-new-privileges:true"],
        Privileged: false,
      },
    });
  });

  it("isolated mode: on the app network as the component name, published on 127.0.0.1", () => {
    const spec = devDatabaseSpecFor({ appId: "shop", db: { name: "db", db_user: "u", db_name: "d" }, image: "pg", network: "isolated", port: 15999, password: "pw" });
    expect(spec.Cmd).toEqual(["postgres"]);
    expect(spec.HostConfig?.PortBindings).toEqual({ "5432/tcp": [{ HostIp: "127.0.0.1", HostPort: "15999" }] });
    expect(spec.NetworkingConfig).toEqual({ EndpointsConfig: { "berth-shop": { Aliases: ["db"] } } });
    expect(spec.Env).toContain("POSTGRES_USER=u");
    expect(spec.Env).toContain("POSTGRES_DB=d");
  });
});

// The engine has no registry, so a stand-in image plays PostgreSQL: `postgres -p PORT` listens on that port
// and appends a line to a file in the data volume on every start.
describe.skipIf(dockerUnavailable())("dev databases on the real engine", () => {
  const docker = new Dockerode();
  const fakeImage = `berth-test/fake-postgres:${process.pid}`;
  const appId = `dbtest${process.pid}`;
  const labels = { [`${TEST_LABEL}.run`]: `db-${process.pid}` };
  const previews = [`${appId}-pr-1`, `${appId}-pr-2`];

  beforeAll(() => {
    ensureTestImages();
    const dir = mkdtempSync(join(tmpdir(), "berth-fakepg-"));
    try {
      writeFileSync(
        join(dir, "postgres"),
        '#!/bin/sh\nmkdir -p "$PGDATA" && echo "$POSTGRES_USER" >> "$PGDATA/starts"\n' +
          'exec node -e \'require("net").createServer((s) => s.end()).listen(Number(process.argv[1]), "127.0.0.1")\' "$2"\n',
      );
      chmodSync(join(dir, "postgres"), 0o755);
      writeFileSync(join(dir, "Dockerfile"), "FROM berth-test/node\nCOPY postgres /usr/local/bin/postgres\n");
      execFileSync("docker", ["build", "-q", "--label", `${TEST_LABEL}.run=db-${process.pid}`, "-t", fakeImage, dir], {
        env: { ...process.env, DOCKER_BUILDKIT: "0" },
        stdio: "pipe",
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  afterAll(() => {
    const names = [appId, ...previews].map((id) => `berth-db-${id}-db`).join(" ");
    execFileSync("sh", ["-c", `docker rm -f ${names} >/dev/null 2>&1; docker volume rm ${names} >/dev/null 2>&1; docker rmi ${fakeImage} >/dev/null 2>&1; true`]);
  });

  it("provisions once, reuses the same database and volume on the next deploy and after a stop", async () => {
    const provision = dockerDevDatabases({ docker, image: fakeImage, network: "host", portBase: 16000 + (process.pid % 500), portCount: 1, labels });
    const first = await provision(appId, { name: "db" });
    expect(first).toMatch(new RegExp(`^postgresql://db:[A-Za-z0-9_-]{24}@127\\.0\\.0\\.1:${16000 + (process.pid % 500)}/db$`));
    expect(await provision(appId, { name: "db" })).toBe(first);

    execFileSync("docker", ["stop", "-t", "1", `berth-db-${appId}-db`], { stdio: "pipe" });
    expect(await provision(appId, { name: "db" })).toBe(first);
    const starts = execFileSync("docker", ["exec", `berth-db-${appId}-db`, "cat", "/var/lib/postgresql/data/pgdata/starts"]).toString();
    expect(starts).toBe("db\ndb\n");
  });

  it("keeps one dev database per preview: its own container, volume and password", async () => {
    const port = 16500 + (process.pid % 500);
    const urls: string[] = [];
    for (const [i, id] of previews.entries()) {
      const provision = dockerDevDatabases({ docker, image: fakeImage, network: "host", portBase: port + i, portCount: 1, labels });
      const r = await resolveDatabases([{ name: "db" }], { appId: id, repository: "octo/shop", environment: `pr-${i + 1}` }, { config: new Map(), provisionDev: provision });
      urls.push(r.bindings.db!.DATABASE_URL);
    }
    expect(new Set(urls.map((u) => new URL(u).password)).size).toBe(2);
    for (const id of previews) {
      const inspected = await docker.getContainer(`berth-db-${id}-db`).inspect();
      expect(inspected.Config.Labels["berth.app"]).toBe(id);
      expect(inspected.Mounts.map((m) => m.Name)).toEqual([`berth-db-${id}-db`]);
    }
  });
});
