// What the trust tests share: a spec whose every component sees a SECRET and a database URL, a bind-context
// hook that hands out an operator database whatever it is told (the worst case), and a record of every request
// the memory runtime received.
import type { BindContextHook } from "../../src/pipeline/index.js";
import type { AppKey } from "../../src/core/types.js";
import type { MemoryRuntimeHooks } from "../../src/runtime/memory/index.js";
import type { Harness } from "./helpers.js";

export const SECRET = "tr0ub4dor-and-3-horses";
export const DB_PASSWORD = "pr0duction-db-passw0rd";
export const DB_URL = `postgres://app:${DB_PASSWORD}@db.example:5432/app`;

/** Every component gets API_KEY (SECRET) and DATABASE_URL (a bound credential); the commit's own spec may fail its rollout. */
export function trustSpec(options: { failRollout?: boolean } = {}): string {
  return `name: shop
envs:
  - key: API_KEY
    value: "${SECRET}"
    type: SECRET
  - key: DATABASE_URL
    value: \${db.DATABASE_URL}
    scope: RUN_TIME
services:
  - name: api
    github: { repo: acme/shop, branch: main }
    source_dir: api
    http_port: 8080
    run_command: ${options.failRollout ? "./fail-rollout" : "./serve"}
    envs:
      - key: SELF_URL
        value: \${_self.PUBLIC_URL}
workers:
  - name: queue
    github: { repo: acme/shop, branch: main }
    source_dir: worker
jobs:
  - name: migrate
    kind: PRE_DEPLOY
    github: { repo: acme/shop, branch: main }
    source_dir: api
    run_command: ./migrate
  - name: notify
    kind: FAILED_DEPLOY
    github: { repo: acme/shop, branch: main }
    source_dir: api
    run_command: ./notify
databases:
  - name: db
    engine: PG
`;
}

export type BindInput = Parameters<BindContextHook>[0];

/** An operator database for every deployment, whatever the hook is told: the pipeline itself must withhold it. */
export function operatorDatabases(seen: BindInput[]): BindContextHook {
  return (input) => {
    seen.push(input);
    return {
      ...input.base,
      databases: {
        db: { hostname: "db.example", port: 5432, username: "app", password: DB_PASSWORD, database: "app", databaseUrl: DB_URL },
      },
    };
  };
}

export interface SeenRequest {
  op: "build" | "job" | "rollout" | "restart";
  appId: string;
  deploymentId: string;
  component?: string;
  /** The request as sent, without its log sink and signal. */
  text: string;
  env: Record<string, string>;
}

/** Records every build, job, rollout and restart request; a rollout of `./fail-rollout` fails. */
export function recordingHooks(seen: SeenRequest[]): MemoryRuntimeHooks {
  const keep = (op: SeenRequest["op"], req: { appId: string; deploymentId: string; component?: string; log: unknown; signal: unknown }, env: Record<string, string>) => {
    const { log: _log, signal: _signal, ...rest } = req;
    seen.push({ op, appId: req.appId, deploymentId: req.deploymentId, component: req.component, text: JSON.stringify(rest), env });
  };
  return {
    build: (req) => keep("build", req, req.buildEnv),
    runJob: (req) => keep("job", req, req.env),
    rollout(req) {
      keep("rollout", req, req.env);
      if (req.runCommand === "./fail-rollout") throw new Error("health check failed");
    },
    restart: (req) => keep("restart", req, {}),
  };
}

/** Whether any secret value reached `text`. */
export function leaks(text: string): boolean {
  return text.includes(SECRET) || text.includes(DB_PASSWORD) || text.includes(DB_URL);
}

/** Everything the runtime was asked for or now serves for one app, as text. */
export function seenFor(h: Harness, seen: SeenRequest[], appId: string): string {
  const serving = [...(h.runtime.serving.get(appId)?.values() ?? [])].map((s) => s.env);
  return JSON.stringify([seen.filter((r) => r.appId === appId).map((r) => r.text), serving]);
}

export function previewIntent(app: AppKey, pr: number, commit: string, fork: boolean) {
  return {
    kind: "deploy" as const,
    app: { ...app, environment: `pr-${pr}` },
    branch: "feature",
    sha: commit,
    cause: { type: "pull_request" as const, number: pr, sha: commit, headRepository: fork ? "mallory/shop" : app.repository, fork },
  };
}
