import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Dockerode from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bindingFromUrl,
  devDatabaseSpecFor,
  dockerDevDatabases,
  readDatabasesConfig,
  resolveDatabases,
} from "../../../src/runtime/docker/databases.js";
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
  it("reads BERTH_DATABASES_FILE then BERTH_DATABASES, the variable winning", () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-dbconf-"));
    try {
      const file = join(dir, "dbs.json");
      writeFileSync(file, JSON.stringify({ db: "postgres://a@h/x", cluster: "postgres://c@h/y" }));
      expect(readDatabasesConfig({ BERTH_DATABASES_FILE: file, BERTH_DATABASES: '{"db":"postgres://b@h/x"}' })).toEqual({
        db: "postgres://b@h/x",
        cluster: "postgres://c@h/y",
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("names the variable when it is malformed", () => {
    expect(() => readDatabasesConfig({ BERTH_DATABASES: "{db:" })).toThrow(/^BERTH_DATABASES is not valid JSON/);
    expect(() => readDatabasesConfig({ BERTH_DATABASES: '{"db": 5}' })).toThrow(
      /^BERTH_DATABASES must be a JSON object mapping names to connection URL strings/,
    );
    expect(readDatabasesConfig({})).toEqual({});
  });
});

describe("resolveDatabases", () => {
  const configured = { db: "postgres://u:pw1@h:5432/app", "prod-cluster": "postgres://v:pw2@h2:5432/main" };

  it("binds by component name or cluster_name and lists the secrets", async () => {
    const r = await resolveDatabases(
      [
        { name: "db", engine: "PG" },
        { name: "main", engine: "PG", production: true, cluster_name: "prod-cluster" },
      ],
      "app1",
      { configured },
    );
    expect(Object.keys(r.bindings)).toEqual(["db", "main"]);
    expect(r.bindings.main?.HOSTNAME).toBe("h2");
    expect(r.secrets).toEqual(["postgres://u:pw1@h:5432/app", "pw1", "postgres://v:pw2@h2:5432/main", "pw2"]);
  });

  it("fails an unconfigured production database with the setting to add", async () => {
    const err = (await resolveDatabases([{ name: "orders", engine: "PG", production: true, cluster_name: "big" }], "a", {
      configured,
      provisionDev: async () => "postgres://never",
    }).catch((e: unknown) => e)) as RuntimeError;
    expect(err).toBeInstanceOf(RuntimeError);
    expect(err.message).toBe(
      'orders: production database is not configured for Berth; add "orders" or "big" to BERTH_DATABASES (a JSON object of component name or cluster_name → connection URL) or BERTH_DATABASES_FILE',
    );
  });

  it("provisions an unconfigured dev PostgreSQL, and refuses other dev engines", async () => {
    const asked: string[] = [];
    const r = await resolveDatabases([{ name: "dev", engine: "PG" }], "a", {
      configured,
      provisionDev: async (appId, db) => (asked.push(`${appId}/${db.name}`), "postgresql://dev:pw@127.0.0.1:15500/dev"),
    });
    expect(asked).toEqual(["a/dev"]);
    expect(r.bindings.dev?.PORT).toBe("15500");
    await expect(
      resolveDatabases([{ name: "kv", engine: "REDIS" }], "a", { configured, provisionDev: async () => "x" }),
    ).rejects.toThrow('kv: database (engine REDIS) is not configured for Berth; add "kv" to BERTH_DATABASES');
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
    execFileSync("sh", ["-c", `docker rm -f berth-db-${appId}-db >/dev/null 2>&1; docker volume rm berth-db-${appId}-db >/dev/null 2>&1; docker rmi ${fakeImage} >/dev/null 2>&1; true`]);
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
});
