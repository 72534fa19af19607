// `databases` components. Berth creates no managed databases: a component binds to a connection URL the
// operator configured for the app's repository and environment (databases-config.ts; looked up by component
// name, then cluster_name), which supplies the `${db.*}` bindables. Without one, a dev database (PostgreSQL) is
// provisioned as a container with a named volume per app, so per preview too, that survives redeploys; a
// preview (and a fork's preview always) gets one even for a production database, never production's URL.
import { createHash, randomBytes } from "node:crypto";
import type Dockerode from "dockerode";
import { RuntimeError } from "../runtime.js";
import { databasesFor, scopeToConfigure, type DatabaseScope, type DatabasesConfig } from "./databases-config.js";
import { appNetworkName, type NetworkMode } from "./container-spec.js";
import { tcpProbe } from "./health.js";
import { dockerName, LABEL } from "./labels.js";
import { sleep } from "./engine.js";

/** The fields of a spec `databases` entry this module reads. */
export interface DatabaseComponent {
  name: string;
  engine?: string;
  production?: boolean;
  cluster_name?: string;
  db_name?: string;
  db_user?: string;
}

/** The values `${db.NAME}` bindables resolve to. */
export interface DatabaseBinding {
  DATABASE_URL: string;
  HOSTNAME: string;
  PORT: string;
  USERNAME: string;
  PASSWORD: string;
  DATABASE: string;
  REDIS_URL?: string;
}

export interface ResolvedDatabases {
  bindings: Record<string, DatabaseBinding>;
  /** Passwords and URLs, for the redactor. */
  secrets: string[];
}

const CONFIG_HINT = "BERTH_DATABASES or BERTH_DATABASES_FILE";

const DEFAULT_PORTS: Record<string, string> = {
  "postgres:": "5432",
  "postgresql:": "5432",
  "mysql:": "3306",
  "redis:": "6379",
  "rediss:": "6379",
  "mongodb:": "27017",
};

/** The bindables of one connection URL. Pure. */
export function bindingFromUrl(name: string, url: string, db: DatabaseComponent = { name }): DatabaseBinding {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // The URL holds a password: name the entry, never echo it.
    throw new RuntimeError(`database "${name}": the connection URL configured for it is not a valid URL (${CONFIG_HINT})`, {
      component: name,
    });
  }
  const binding: DatabaseBinding = {
    DATABASE_URL: url,
    HOSTNAME: parsed.hostname,
    PORT: parsed.port || DEFAULT_PORTS[parsed.protocol] || "",
    USERNAME: decodeURIComponent(parsed.username),
    PASSWORD: decodeURIComponent(parsed.password),
    DATABASE: decodeURIComponent(parsed.pathname.replace(/^\//, "")) || db.db_name || "",
  };
  const engine = (db.engine ?? "").toUpperCase();
  if (engine === "REDIS" || engine === "VALKEY" || parsed.protocol.startsWith("redis")) binding.REDIS_URL = url;
  return binding;
}

/** Provisions (or finds) a dev database and returns its URL. */
export type DevDatabaseProvisioner = (appId: string, db: DatabaseComponent) => Promise<string>;

export interface ResolveDatabasesOptions {
  config: DatabasesConfig;
  /** Dev databases without configuration; absent: they must be configured too. */
  provisionDev?: DevDatabaseProvisioner;
}

/** The app whose databases are resolved: its id (dev databases are its own) and its scope in the configuration. */
export type DatabaseTarget = DatabaseScope & { appId: string };

/** `${db.*}` values for every database component of an app. */
export async function resolveDatabases(
  databases: readonly DatabaseComponent[],
  target: DatabaseTarget,
  o: ResolveDatabasesOptions,
): Promise<ResolvedDatabases> {
  const configured = databasesFor(o.config, target);
  const bindings: Record<string, DatabaseBinding> = {};
  const secrets: string[] = [];
  for (const db of databases) {
    const url = configured.get(db.name) ?? (db.cluster_name ? configured.get(db.cluster_name) : undefined);
    const binding = bindingFromUrl(db.name, url ?? (await provisionDev(db, target, o.provisionDev)), db);
    bindings[db.name] = binding;
    secrets.push(binding.DATABASE_URL);
    if (binding.PASSWORD) secrets.push(binding.PASSWORD);
  }
  return { bindings, secrets };
}

/** A dev PostgreSQL for a database nothing is configured for; production needs configuration for production ones. */
async function provisionDev(db: DatabaseComponent, target: DatabaseTarget, provision: DevDatabaseProvisioner | undefined): Promise<string> {
  const engine = (db.engine ?? "UNSET").toUpperCase();
  const postgres = engine === "PG" || engine === "UNSET";
  if (provision && postgres && (!db.production || target.environment !== "production")) return provision(target.appId, db);
  const kind = `${db.production ? "production database" : "database"}${postgres ? "" : ` (engine ${engine})`}`;
  if (target.untrusted) {
    throw new RuntimeError(`${db.name}: ${kind} cannot be given to a fork's preview; forks get dev PostgreSQL databases only`, { component: db.name });
  }
  const keys = [db.name, db.cluster_name].filter(Boolean).map((k) => `"${k}"`).join(" or ");
  const whose = target.environment === "production" ? target.repository : `the previews of ${target.repository}`;
  throw new RuntimeError(`${db.name}: ${kind} is not configured for ${whose}; add ${keys} under "${scopeToConfigure(target)}" in ${CONFIG_HINT}`, {
    component: db.name,
  });
}

export interface DevDatabaseInput {
  appId: string;
  db: DatabaseComponent;
  image: string;
  network: NetworkMode;
  port: number;
  password: string;
  labels?: Record<string, string>;
}

function devDatabaseName(appId: string, db: string): string {
  return `berth-db-${dockerName(appId)}-${dockerName(db)}`;
}

/** Container options of a dev PostgreSQL. Pure. */
export function devDatabaseSpecFor(i: DevDatabaseInput): Dockerode.ContainerCreateOptions {
  const name = devDatabaseName(i.appId, i.db.name);
  const user = i.db.db_user ?? i.db.name;
  const database = i.db.db_name ?? i.db.name;
  const host = i.network === "host";
  return {
    name,
    Image: i.image,
    Cmd: host ? ["postgres", "-p", String(i.port), "-c", "listen_addresses=127.0.0.1"] : ["postgres"],
    Env: [`POSTGRES_USER=${user}`, `POSTGRES_PASSWORD=${i.password}`, `POSTGRES_DB=${database}`, "PGDATA=/var/lib/postgresql/data/pgdata"],
    Labels: {
      ...i.labels,
      [LABEL.managed]: "true",
      [LABEL.app]: i.appId,
      [LABEL.component]: i.db.name,
      [LABEL.role]: "database",
      [LABEL.port]: String(i.port),
    },
    HostConfig: {
      NetworkMode: host ? "host" : appNetworkName(i.appId),
      Mounts: [{ Type: "volume", Source: name, Target: "/var/lib/postgresql/data" }],
      RestartPolicy: { Name: "unless-stopped", MaximumRetryCount: 0 },
      SecurityOpt: ["no-new-privileges:true"],
      Privileged: false,
      ...(host ? {} : { PortBindings: { "5432/tcp": [{ HostIp: "127.0.0.1", HostPort: String(i.port) }] } }),
    },
    ...(host ? {} : { ExposedPorts: { "5432/tcp": {} }, NetworkingConfig: { EndpointsConfig: { [appNetworkName(i.appId)]: { Aliases: [i.db.name] } } } }),
  };
}

export interface DevDatabasesOptions {
  docker: Dockerode;
  /** BERTH_DEV_DATABASE_IMAGE; default `postgres:16`. */
  image: string;
  network: NetworkMode;
  /** Ports for dev databases in host mode; default 15432–16431. */
  portBase?: number;
  portCount?: number;
  labels?: Record<string, string>;
  readyTimeoutMs?: number;
  /** Isolated mode: creates the app's network before the database joins it. */
  ensureNetwork?: (appId: string) => Promise<string>;
}

/** A provisioner that keeps one PostgreSQL container (and volume) per app and database, reused across deploys. */
export function dockerDevDatabases(o: DevDatabasesOptions): DevDatabaseProvisioner {
  return async (appId, db) => {
    const name = devDatabaseName(appId, db.name);
    const user = db.db_user ?? db.name;
    const database = db.db_name ?? db.name;
    let port: number;
    let password: string;
    const container = o.docker.getContainer(name);
    try {
      const found = await container.inspect();
      port = Number(found.Config.Labels[LABEL.port]);
      password = (found.Config.Env ?? []).find((e) => e.startsWith("POSTGRES_PASSWORD="))?.slice("POSTGRES_PASSWORD=".length) ?? "";
      if (!found.State.Running) await container.start();
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
      const hash = createHash("sha256").update(name).digest().readUInt32BE(0);
      port = (o.portBase ?? 15432) + (hash % (o.portCount ?? 1000));
      password = randomBytes(18).toString("base64url");
      if (o.network === "isolated") await o.ensureNetwork?.(appId);
      const created = await o.docker.createContainer(
        devDatabaseSpecFor({ appId, db, image: o.image, network: o.network, port, password, labels: o.labels }),
      );
      await created.start();
    }
    const deadline = Date.now() + (o.readyTimeoutMs ?? 60_000);
    const probe = tcpProbe("127.0.0.1", port, 1000);
    while (!(await probe(AbortSignal.timeout(2000))).ok) {
      if (Date.now() > deadline) {
        throw new RuntimeError(`${db.name}: the dev database container ${name} did not accept connections on port ${port}`, {
          component: db.name,
        });
      }
      await sleep(250);
    }
    const host = o.network === "host" ? "127.0.0.1" : db.name;
    const dbPort = o.network === "host" ? port : 5432;
    return `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${dbPort}/${encodeURIComponent(database)}`;
  };
}
