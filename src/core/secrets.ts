// The operator-side secret store's contract (issue 13): SECRET env values set outside the repository, per
// repository and environment, encrypted at rest by the implementation (src/secrets/). Callers other than the
// pipeline see names and update times only.

/** Production deployments read `production`; every pull-request preview reads `previews`. */
export type SecretEnvironment = "production" | "previews";

export interface SecretEntry {
  key: string;
  updatedAt: Date;
}

export interface SecretStore {
  /** `repository` is `owner/name` (case-insensitive); `key` is an env variable name. */
  set(repository: string, environment: SecretEnvironment, key: string, value: string): Promise<void>;
  /** Resolves true when there was a value to remove. */
  unset(repository: string, environment: SecretEnvironment, key: string): Promise<boolean>;
  /** Names and update times, never values. */
  list(repository: string, environment: SecretEnvironment): Promise<SecretEntry[]>;
  /** Decrypted values by key: for the pipeline, which hands them to trusted deployments only. */
  values(repository: string, environment: SecretEnvironment): Promise<Map<string, string>>;
}
