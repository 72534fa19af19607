// Where SECRET values come from and where they must not go. The stored spec (the deployments' spec column,
// which restarts, rollbacks and reverts reuse) keeps names only: a value written in the spec is sealed with
// Berth's secret key, bound to the app, env and key; a value left out (or App Platform's `EV[…]` form) stays
// as it is, and comes from the operator's secret store each time the spec is used. Opening a spec puts the
// values back, for deployments allowed secrets; the others get the sealed values opened only so map-spec
// can recognise and withhold every env that holds one.
import type { AppSpec } from "../app-spec/index.js";
import { isAppPlatformEncrypted } from "../app-spec/index.js";
import { deployError } from "../core/errors.js";
import type { SecretEnvironment, SecretStore } from "../core/secrets.js";
import type { Store } from "../core/store.js";
import type { AppKey, SecretScope } from "../core/types.js";
import { isSealed, SecretDecryptError, type SecretCipher } from "../secrets/cipher.js";

type EnvVar = AppSpec["envs"][number];

export interface SecretSources {
  /** The operator's store; without one, a SECRET without a value stays empty (tests). */
  secrets?: SecretStore;
  /** Seals spec-inline values in the stored spec; without one they are dropped from it. */
  cipher?: SecretCipher;
}

const RUNNABLE = ["services", "static_sites", "workers", "jobs", "functions"] as const;

/** The store environment a deployment of `app` reads. */
export function secretEnvironmentOf(app: AppKey): SecretEnvironment {
  return app.environment === "production" ? "production" : "previews";
}

/** A copy of `spec` with every SECRET env passed through `map` (`owner`: "app" or the component's name). */
function mapSecrets(spec: AppSpec, map: (env: EnvVar, owner: string) => EnvVar): AppSpec {
  const envs = (list: EnvVar[], owner: string) => list.map((e) => (e.type === "SECRET" ? map(e, owner) : e));
  const out = { ...spec, envs: envs(spec.envs, "app") } as AppSpec;
  for (const kind of RUNNABLE) {
    (out as Record<string, unknown>)[kind] = spec[kind].map((c) => ({ ...c, envs: envs(c.envs, c.name) }));
  }
  return out;
}

function specContext(app: AppKey, owner: string, key: string): string {
  return `berth spec secret\0${app.repository.toLowerCase()}\0${app.environment}\0${owner}\0${key}`;
}

function needsStore(env: EnvVar): boolean {
  return env.value === undefined || env.value === "" || isAppPlatformEncrypted(env.value);
}

/** The spec as it may be stored: no plaintext SECRET value. */
export function sealSpec(sources: SecretSources, app: AppKey, spec: AppSpec): AppSpec {
  return mapSecrets(spec, (env, owner) => {
    if (env.value === undefined || needsStore(env) || isSealed(env.value)) return env;
    const { value, ...rest } = env;
    return sources.cipher ? { ...rest, value: sources.cipher.seal(specContext(app, owner, env.key), value) } : rest;
  });
}

/**
 * The spec with its SECRET values: sealed ones opened, missing ones from the secret store when the deployment
 * gets secrets. Throws SECRET_MISSING, naming every key without a value, before anything is built or rolled out.
 */
export async function openSpec(sources: SecretSources, app: AppKey, scope: SecretScope, spec: AppSpec): Promise<AppSpec> {
  const environment = secretEnvironmentOf(app);
  let stored: Map<string, string> | undefined;
  if (scope === "production" && sources.secrets && secretEnvs(spec).some(needsStore)) {
    stored = await sources.secrets.values(app.repository, environment);
  }
  const missing = new Set<string>();
  const opened = mapSecrets(spec, (env, owner) => {
    if (env.value !== undefined && isSealed(env.value)) {
      if (!sources.cipher) throw new Error(`the stored spec holds sealed SECRET ${env.key}, and no secret key was given to open it`);
      return { ...env, value: sources.cipher.open(specContext(app, owner, env.key), env.value) };
    }
    if (!stored || !needsStore(env)) return env;
    const value = stored.get(env.key);
    if (value === undefined) missing.add(env.key);
    return value === undefined ? env : { ...env, value };
  });
  if (missing.size > 0) {
    throw deployError("SECRET_MISSING", { repository: app.repository, environment, keys: [...missing], step: "spec" });
  }
  return opened;
}

function secretEnvs(spec: AppSpec): EnvVar[] {
  return [spec.envs, ...RUNNABLE.flatMap((k) => spec[k].map((c) => c.envs))].flat().filter((e) => e.type === "SECRET");
}

/**
 * Run at every start: seals what older Berth versions stored in plain text, and (after a key rotation) seals
 * again under the current key what the previous one sealed, so BERTH_SECRET_KEY_PREVIOUS can go. Resolves
 * how many deployments' specs changed, and which ones hold values no key given opens (left as they are).
 */
export async function sealStoredSpecs(
  store: Pick<Store, "apps" | "deployments">,
  cipher: SecretCipher,
): Promise<{ sealed: number; unreadable: string[] }> {
  let sealed = 0;
  const unreadable: string[] = [];
  for (const app of await store.apps.list({ includeRemoved: true })) {
    for (const { id } of await store.deployments.list(app.id, { limit: 1_000_000 })) {
      const internals = await store.deployments.internals(id);
      if (!internals?.spec) continue;
      const { app: key } = internals.record;
      let changed = false;
      const reseal = (env: EnvVar, owner: string): EnvVar => {
        if (env.value === undefined || needsStore(env) || (isSealed(env.value) && !cipher.isStale(env.value))) return env;
        changed = true;
        const context = specContext(key, owner, env.key);
        return { ...env, value: cipher.seal(context, isSealed(env.value) ? cipher.open(context, env.value) : env.value) };
      };
      let spec: AppSpec;
      try {
        spec = mapSecrets(internals.spec as AppSpec, reseal);
      } catch (err) {
        if (!(err instanceof SecretDecryptError)) throw err;
        unreadable.push(id);
        continue;
      }
      if (!changed) continue;
      await store.deployments.update(id, { spec });
      sealed++;
    }
  }
  return { sealed, unreadable };
}
