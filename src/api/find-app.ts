// `owner/repo` and an environment name an app; the installation is Berth's business, not the caller's.
import type { AppRecord, Store } from "../core/store.js";
import type { DeploymentRecord } from "../core/types.js";
import { ApiError } from "./api-error.js";

export async function findApp(store: Pick<Store, "apps">, owner: string, repo: string, environment: string): Promise<AppRecord> {
  const repository = `${owner}/${repo}`.toLowerCase();
  const found = (await store.apps.list()).filter((a) => a.key.repository.toLowerCase() === repository && a.key.environment === environment);
  if (found.length === 0) throw new ApiError("not_found", `Berth manages no app ${owner}/${repo} (${environment})`);
  if (found.length > 1) {
    const installations = found.map((a) => a.key.installationId).join(", ");
    throw new ApiError("conflict", `${owner}/${repo} (${environment}) is managed in several GitHub App installations (${installations}); remove the stale one`);
  }
  return found[0]!;
}

export async function findDeployment(store: Pick<Store, "deployments">, id: string): Promise<DeploymentRecord> {
  const d = await store.deployments.get(id);
  if (!d) throw new ApiError("not_found", `no deployment ${id}`);
  return d;
}
