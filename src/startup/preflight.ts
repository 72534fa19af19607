// What Berth needs from the machine, checked before the store opens or the router listens: the Docker engine,
// the database, a writable data directory and free ports. Each failure is one line naming the setting and what
// to do, so a wrong start ends with a sentence instead of a stack trace after half of Berth is up.
import { accessSync, constants, mkdirSync } from "node:fs";
import { createServer, type Server } from "node:net";
import Dockerode from "dockerode";
import pg from "pg";
import type { Config } from "../config.js";

export class StartupError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("\n"));
    this.name = "StartupError";
  }
}

/** One check: resolves with a problem line, or undefined when all is well. */
type Check = () => Promise<string | undefined>;

const reason = (err: unknown) => (err as NodeJS.ErrnoException).code ?? (err as Error).message;

/** `docker` defaults to the engine dockerode finds as the runtime will (DOCKER_HOST, else the local socket). */
export function dockerCheck(where: string, docker = new Dockerode({ timeout: 5_000 })): Check {
  return async () => {
    try {
      await docker.ping();
      return undefined;
    } catch (err) {
      return `Docker engine not reachable at ${where} (${reason(err)}): start Docker, set DOCKER_HOST to its socket, or set BERTH_RUNTIME=memory to try Berth without running apps`;
    }
  };
}

/** Where a PostgreSQL URL points, without its password. */
function describeDatabase(url: string): string {
  try {
    const u = new URL(url);
    return `${u.username ? `${decodeURIComponent(u.username)}@` : ""}${u.host}${u.pathname}`;
  } catch {
    return "the configured server";
  }
}

export function databaseCheck(url: string, timeoutMs = 5_000): Check {
  return async () => {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
    try {
      await client.connect();
      await client.query("SELECT 1");
      return undefined;
    } catch (err) {
      return `DATABASE_URL: cannot connect to PostgreSQL at ${describeDatabase(url)} (${reason(err)}): start PostgreSQL, fix DATABASE_URL, or unset it to keep the store in SQLite under BERTH_DATA_DIR`;
    } finally {
      await client.end().catch(() => undefined);
    }
  };
}

export function dataDirCheck(dataDir: string): Check {
  return async () => {
    try {
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      accessSync(dataDir, constants.W_OK);
      return undefined;
    } catch (err) {
      return `BERTH_DATA_DIR: ${dataDir} is not a writable directory (${reason(err)}): create it for the user Berth runs as, or point BERTH_DATA_DIR elsewhere`;
    }
  };
}

export interface PortClaim {
  setting: string;
  host?: string;
  port: number;
}

function listen(claim: PortClaim): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen({ port: claim.port, host: claim.host, exclusive: true }, () => resolve(server));
  });
}

function portProblem(claim: PortClaim, err: unknown): string {
  const at = `${claim.host ?? "localhost"}:${claim.port}`;
  const code = reason(err);
  if (code === "EADDRINUSE") return `${claim.setting}: ${at} is already in use (another Berth, or another program): stop it or set ${claim.setting} to a free port`;
  if (code === "EACCES") return `${claim.setting}: ${at} needs privileges to listen on (EACCES): use a port above 1023 and a proxy in front`;
  if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND") return `${claim.setting}: cannot listen on ${at} (${code}): the host is not an address of this machine`;
  return `${claim.setting}: cannot listen on ${at} (${code})`;
}

/**
 * Every port is held until all are tried, so two settings naming the same port are caught too. Port 0 (any free
 * port) is never in use.
 */
export function portsCheck(claims: PortClaim[]): () => Promise<string[]> {
  return async () => {
    const held: Server[] = [];
    const problems: string[] = [];
    try {
      for (const claim of claims.filter((c) => c.port !== 0)) {
        try {
          held.push(await listen(claim));
        } catch (err) {
          problems.push(portProblem(claim, err));
        }
      }
    } finally {
      await Promise.all(held.map((s) => new Promise((resolve) => s.close(resolve))));
    }
    return problems;
  };
}

/** The ports this configuration listens on, by the setting that names each. */
export function portClaims(config: Config, registered: boolean): PortClaim[] {
  const claims: PortClaim[] = [{ setting: "PORT", host: config.host ?? "localhost", port: config.port }];
  if (!registered) return claims;
  if (config.runtime === "docker") claims.push({ setting: "BERTH_ROUTER_PORT", host: config.routerHost, port: config.routerPort });
  if (config.metricsAddress) claims.push({ setting: "BERTH_METRICS_ADDRESS", ...config.metricsAddress });
  return claims;
}

/** Runs every check for this configuration; throws a StartupError listing each problem found. */
export async function preflight(config: Config, env: Record<string, string | undefined>): Promise<void> {
  const registered = config.github !== null;
  const checks: Check[] = [];
  if (registered) {
    if (config.runtime === "docker") checks.push(dockerCheck(env.DOCKER_HOST || "/var/run/docker.sock"));
    if (config.databaseUrl) checks.push(databaseCheck(config.databaseUrl));
    else if (!config.dataDir.startsWith("memory://")) checks.push(dataDirCheck(config.dataDir));
  }
  const [portProblems, ...others] = await Promise.all([portsCheck(portClaims(config, registered))(), ...checks.map((c) => c())]);
  const problems = [...others.filter((p): p is string => p !== undefined), ...portProblems];
  if (problems.length > 0) throw new StartupError(problems);
}

/**
 * What an operator reads when Berth cannot start: one line per problem, no stack trace (that only at
 * LOG_LEVEL=debug or trace, for a bug report).
 */
export function describeStartupFailure(err: unknown, logLevel: string | undefined): string {
  if (err instanceof StartupError) return err.problems.map((p) => `Berth could not start: ${p}`).join("\n");
  const line = `Berth could not start: ${(err as Error)?.message ?? String(err)}`;
  return logLevel === "debug" || logLevel === "trace" ? `${line}\n${(err as Error)?.stack ?? ""}` : line;
}
