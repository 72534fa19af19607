// What the API and CLI do with a secret: set or unset it and, when asked, roll the live apps that read it
// out again so the change takes effect (`berth secrets set --restart`). A value is never returned or logged.
import type { SecretEnvironment, SecretStore } from "../core/secrets.js";
import type { AppRecord } from "../core/store.js";
import type { Intent } from "../core/types.js";

export interface SecretActionsDeps {
  secrets: SecretStore;
  /** The apps Berth manages (Store.apps.list). */
  listApps(): Promise<AppRecord[]>;
  /** Pipeline.submit. */
  submit(intent: Intent): Promise<{ accepted: boolean; deploymentId?: string }>;
}

export interface SecretChangeOptions {
  /** Roll out every live app of the repository in that environment again, with the new value. */
  restart?: boolean;
  /** Who asked, recorded on the restart's cause. */
  by?: string;
}

export interface SecretChange {
  /** set: always true; unset: whether there was a value. */
  changed: boolean;
  /** The restart deployments queued, one per live app (empty without `restart`). */
  restarts: { app: AppRecord["key"]; deploymentId: string }[];
  /** Live apps whose restart was refused (the value is changed all the same), with the reason to show. */
  refused: { app: AppRecord["key"]; message: string }[];
}

function readsEnvironment(app: AppRecord, repository: string, environment: SecretEnvironment): boolean {
  if (app.key.repository.toLowerCase() !== repository.toLowerCase() || app.removedAt || !app.activeDeploymentId) return false;
  return environment === "production" ? app.key.environment === "production" : app.key.environment !== "production";
}

async function restartReaders(
  deps: SecretActionsDeps,
  repository: string,
  environment: SecretEnvironment,
  by?: string,
): Promise<Omit<SecretChange, "changed">> {
  const out: Omit<SecretChange, "changed"> = { restarts: [], refused: [] };
  for (const app of (await deps.listApps()).filter((a) => readsEnvironment(a, repository, environment))) {
    try {
      const result = await deps.submit({ kind: "restart", app: app.key, by, refreshEnv: true });
      if (result.accepted && result.deploymentId) out.restarts.push({ app: app.key, deploymentId: result.deploymentId });
    } catch (err) {
      out.refused.push({ app: app.key, message: err instanceof Error ? err.message : String(err) });
    }
  }
  return out;
}

const NONE: Omit<SecretChange, "changed"> = { restarts: [], refused: [] };

export async function setSecret(
  deps: SecretActionsDeps,
  target: { repository: string; environment: SecretEnvironment; key: string },
  value: string,
  opts: SecretChangeOptions = {},
): Promise<SecretChange> {
  await deps.secrets.set(target.repository, target.environment, target.key, value);
  const restarted = opts.restart ? await restartReaders(deps, target.repository, target.environment, opts.by) : NONE;
  return { changed: true, ...restarted };
}

export async function unsetSecret(
  deps: SecretActionsDeps,
  target: { repository: string; environment: SecretEnvironment; key: string },
  opts: SecretChangeOptions = {},
): Promise<SecretChange> {
  const changed = await deps.secrets.unset(target.repository, target.environment, target.key);
  const restarted = changed && opts.restart ? await restartReaders(deps, target.repository, target.environment, opts.by) : NONE;
  return { changed, ...restarted };
}
