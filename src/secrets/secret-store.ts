// The SecretStore (src/core/secrets.ts) over the store's sealed rows: values are sealed before they are
// written and opened only for the pipeline. A row opens only under its own repository, environment and key.
import type { SecretEnvironment, SecretStore } from "../core/secrets.js";
import type { SecretRows } from "../store/index.js";
import type { SecretCipher } from "./cipher.js";

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ENVIRONMENTS: readonly SecretEnvironment[] = ["production", "previews"];

export interface OperatorSecretStore extends SecretStore {
  /** Re-seal every value sealed with BERTH_SECRET_KEY_PREVIOUS under BERTH_SECRET_KEY; resolves how many. */
  rotate(): Promise<number>;
}

/** What a value is bound to; also what `open` must be given. */
export function secretContext(repository: string, environment: string, key: string): string {
  return `berth secret\0${repository}\0${environment}\0${key}`;
}

function checked(repository: string, environment: SecretEnvironment, key?: string): string {
  if (!/^[^/\s]+\/[^/\s]+$/.test(repository)) throw new Error(`repository must be owner/name, not "${repository}"`);
  if (!ENVIRONMENTS.includes(environment)) throw new Error(`environment must be production or previews, not "${environment}"`);
  if (key !== undefined && !ENV_KEY.test(key)) throw new Error(`"${key}" is not an env variable name (letters, digits and _, not starting with a digit)`);
  return repository.toLowerCase();
}

export function createSecretStore(rows: SecretRows, cipher: SecretCipher): OperatorSecretStore {
  return {
    async set(repository, environment, key, value) {
      const repo = checked(repository, environment, key);
      await rows.put({ repository: repo, environment, key, sealed: cipher.seal(secretContext(repo, environment, key), value) });
    },
    unset(repository, environment, key) {
      return rows.remove(checked(repository, environment, key), environment, key);
    },
    async list(repository, environment) {
      const found = await rows.list(checked(repository, environment), environment);
      return found.map((r) => ({ key: r.key, updatedAt: r.updatedAt }));
    },
    async values(repository, environment) {
      const repo = checked(repository, environment);
      const found = await rows.list(repo, environment);
      return new Map(found.map((r) => [r.key, cipher.open(secretContext(repo, environment, r.key), r.sealed)]));
    },
    async rotate() {
      let count = 0;
      for (const row of await rows.all()) {
        if (!cipher.isStale(row.sealed)) continue;
        const context = secretContext(row.repository, row.environment, row.key);
        const sealed = cipher.seal(context, cipher.open(context, row.sealed));
        if (await rows.reseal({ ...row, sealed }, row.sealed)) count++;
      }
      return count;
    },
  };
}
