import { describe, expect, it } from "vitest";
import { findBindables, parseAppSpec, resolveComponentEnv, type AppSpec, type BindContext } from "../../src/app-spec/index.js";

function spec(text: string): AppSpec {
  const result = parseAppSpec(text);
  if (!result.spec) throw new Error(JSON.stringify(result.problems));
  return result.spec;
}

const ctx: BindContext = {
  appUrl: "https://shop.example.com",
  appDomain: "shop.example.com",
  appId: "6f0f1c1e-0000-4000-8000-000000000001",
  components: {
    api: { privateUrl: "http://api:8080", privateDomain: "api", privatePort: 8080, commitHash: "abc123", publicUrl: "https://shop.example.com/api", publicRoutePath: "/api" },
    web: { commitHash: "def456", publicUrl: "https://shop.example.com/" },
  },
  databases: {
    db: {
      hostname: "db.internal",
      port: 5432,
      username: "app",
      password: "s3cret-pw",
      database: "shop",
      databaseUrl: "postgresql://app:s3cret-pw@db.internal:5432/shop",
      jdbcDatabaseUrl: "jdbc:postgresql://db.internal:5432/shop?user=app&password=s3cret-pw",
      caCert: "-----BEGIN CERTIFICATE-----",
    },
    "db.pool": {
      hostname: "db.internal",
      port: 25061,
      username: "app",
      password: "s3cret-pw",
      database: "pool",
      databaseUrl: "postgresql://app:s3cret-pw@db.internal:25061/pool",
    },
  },
};

const shop = spec(`
name: shop
envs:
  - key: LOG_LEVEL
    value: info
  - key: REGION
    value: global
  - key: BUILD_ONLY
    value: yes-build
    scope: BUILD_TIME
services:
  - name: api
    github: {repo: acme/shop, branch: main}
    http_port: 8080
    envs:
      - key: REGION
        value: eu
      - key: DATABASE_URL
        value: \${db.DATABASE_URL}
        scope: RUN_TIME
      - key: POOL_URL
        value: \${db.pool.DATABASE_URL}
        scope: RUN_TIME
      - key: SELF
        value: \${_self.PRIVATE_URL} at \${APP_URL} (\${APP_DOMAIN}, \${APP_ID})
      - key: TOKEN
        value: tok-123
        type: SECRET
      - key: LEFTOVER
        value: \${RELEASE_TAG}
      - key: SHARED_NAME
        value: api-\${_self.COMMIT_HASH}
  - name: admin
    dockerfile_path: Dockerfile
    github: {repo: acme/shop, branch: main}
    envs:
      - key: PORT
        value: "9000"
      - key: API
        value: \${api.PRIVATE_URL}
      - key: API_NAME
        value: \${api.SHARED_NAME}
      - key: API_TOKEN
        value: \${api.TOKEN}
      - key: JDBC
        value: \${db.JDBC_DATABASE_URL}
static_sites:
  - name: web
    github: {repo: acme/shop, branch: main}
    envs:
      - key: API_URL
        value: \${api.PUBLIC_URL}
        scope: BUILD_TIME
      - key: DB
        value: \${db.HOSTNAME}
databases:
  - name: db
    engine: PG
`);

describe("resolveComponentEnv", () => {
  it("merges app and component envs (component wins), resolves bindables, injects PORT and lists secrets", () => {
    const { env, secrets } = resolveComponentEnv(shop, "api", "run", ctx);
    expect(env).toEqual({
      LOG_LEVEL: "info",
      REGION: "eu",
      DATABASE_URL: "postgresql://app:s3cret-pw@db.internal:5432/shop",
      POOL_URL: "postgresql://app:s3cret-pw@db.internal:25061/pool",
      SELF: "http://api:8080 at https://shop.example.com (shop.example.com, 6f0f1c1e-0000-4000-8000-000000000001)",
      TOKEN: "tok-123",
      LEFTOVER: "${RELEASE_TAG}",
      SHARED_NAME: "api-abc123",
      PORT: "8080",
    });
    expect(secrets.sort()).toEqual(
      [
        "postgresql://app:s3cret-pw@db.internal:5432/shop",
        "postgresql://app:s3cret-pw@db.internal:25061/pool",
        "s3cret-pw",
        "tok-123",
      ].sort(),
    );
  });

  it("keeps build-time envs out of run time and run-time envs out of the build", () => {
    const build = resolveComponentEnv(shop, "api", "build", ctx).env;
    expect(build).toHaveProperty("BUILD_ONLY", "yes-build");
    expect(build).not.toHaveProperty("DATABASE_URL");
    expect(build).not.toHaveProperty("PORT");
    expect(resolveComponentEnv(shop, "api", "run", ctx).env).not.toHaveProperty("BUILD_ONLY");
  });

  it("reads another component's env value as that component sees it, secret-ness included", () => {
    const { env, secrets } = resolveComponentEnv(shop, "admin", "run", ctx);
    expect(env).toMatchObject({
      PORT: "9000",
      API: "http://api:8080",
      API_NAME: "api-abc123",
      API_TOKEN: "tok-123",
      JDBC: "jdbc:postgresql://db.internal:5432/shop?user=app&password=s3cret-pw",
    });
    expect(secrets).toContain("tok-123");
    expect(secrets).toContain("s3cret-pw");
  });

  it("leaves bindables as written at build time for Dockerfile builds and for databases", () => {
    expect(resolveComponentEnv(shop, "admin", "build", ctx).env).toMatchObject({
      API: "${api.PRIVATE_URL}",
      JDBC: "${db.JDBC_DATABASE_URL}",
    });
    expect(resolveComponentEnv(shop, "web", "build", ctx).env).toEqual({
      LOG_LEVEL: "info",
      REGION: "global",
      BUILD_ONLY: "yes-build",
      API_URL: "https://shop.example.com/api",
      DB: "${db.HOSTNAME}",
    });
  });

  it("leaves a bindable the context cannot answer as written", () => {
    const bare: BindContext = { ...ctx, components: {}, databases: {} };
    expect(resolveComponentEnv(shop, "api", "run", bare).env).toMatchObject({
      DATABASE_URL: "${db.DATABASE_URL}",
      SELF: "${_self.PRIVATE_URL} at https://shop.example.com (shop.example.com, 6f0f1c1e-0000-4000-8000-000000000001)",
      SHARED_NAME: "api-${_self.COMMIT_HASH}",
    });
  });

  it("stops at reference cycles between components", () => {
    const cyclic = spec(`
name: cyc
services:
  - name: aa
    github: {repo: a/b}
    envs: [{key: X, value: "\${bb.Y}"}]
  - name: bb
    github: {repo: a/b}
    envs: [{key: Y, value: "\${aa.X}"}]
`);
    expect(resolveComponentEnv(cyclic, "aa", "run", { ...ctx, components: {}, databases: {} }).env.X).toBe("${aa.X}");
  });

  it("throws on a component the spec does not have", () => {
    expect(() => resolveComponentEnv(shop, "db", "run", ctx)).toThrow(/no service, worker, job, static site or function named "db"/);
  });
});

describe("findBindables", () => {
  it("classifies app, self, component, pool and unknown references, and skips ${{ }}", () => {
    expect(findBindables("${APP_URL}/${_self.URL}:${api.PRIVATE_PORT}${db.pool.DATABASE_URL}${FOO}${{ secrets.X }}${a.b.c.d}")).toEqual([
      { kind: "app", expression: "APP_URL", name: "APP_URL" },
      { kind: "self", expression: "_self.URL", name: "URL" },
      { kind: "component", expression: "api.PRIVATE_PORT", component: "api", name: "PRIVATE_PORT" },
      { kind: "component", expression: "db.pool.DATABASE_URL", component: "db", pool: "pool", name: "DATABASE_URL" },
      { kind: "unknown", expression: "FOO" },
      { kind: "unknown", expression: "a.b.c.d" },
    ]);
  });
});
