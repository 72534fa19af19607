// What the GitHub layer needs from the store and the pipeline, stated narrowly so handlers and reporters can
// be tested with small fakes and wired in main.ts to the real modules.
import type { AppKey, DeploymentRecord, Intent, PipelineEvent } from "../pipeline/types.js";

export interface DeliveryLog {
  /** true the first time an `X-GitHub-Delivery` id is seen, false for a redelivery. */
  recordDelivery(id: string): Promise<boolean>;
}

/** Small JSON documents Berth keeps about GitHub: check-run ids, comment ids, approvals, the inbox. */
export interface KeyValueState {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
}

/** An app Berth manages (src/store's AppRecord), with what catch-up compares. */
export interface ManagedApp {
  id: string;
  key: AppKey;
  branch: string;
  /** Sha of the active deployment. */
  activeSha?: string;
  removedAt?: Date;
}

export interface AppsPort {
  list(options?: { installationId?: number }): Promise<ManagedApp[]>;
  /** Stop managing an app; what runs keeps running. */
  remove(id: string, reason: string): Promise<void>;
}

export interface PipelinePort {
  submit(intent: Intent, options?: { deliveryId?: string }): Promise<{ accepted: boolean; deploymentId?: string }>;
  on(listener: (event: PipelineEvent) => void): () => void;
  getDeployment(id: string): Promise<DeploymentRecord | null | undefined>;
  listDeployments(app: AppKey): Promise<DeploymentRecord[]>;
}

/** The installations Berth knows (src/store's `installations`). */
export interface InstallationsPort {
  upsert(installation: { id: number; account: string }): Promise<void>;
  remove(id: number): Promise<void>;
}

/** A spec problem with its position in the file (src/spec's Problem). */
export interface SpecProblem {
  severity: "error" | "warning" | string;
  message: string;
  path?: string | (string | number)[];
  line?: number;
  column?: number;
  endLine?: number;
  endColumn?: number;
}

export interface SpecComponentView {
  name: string;
  source_dir?: string;
  github?: { repo?: string; branch?: string; deploy_on_push?: boolean };
}

/** The parts of a parsed app spec the GitHub layer reads. */
export interface SpecView {
  name: string;
  services?: SpecComponentView[];
  workers?: SpecComponentView[];
  jobs?: SpecComponentView[];
  static_sites?: SpecComponentView[];
  functions?: SpecComponentView[];
}

export type SpecParser = (
  text: string,
  options: { template?: boolean },
) => { spec: SpecView | null; problems: SpecProblem[] };

/** Where a command came from, so its outcome can be told there. */
export interface CommandOrigin {
  installationId: number;
  repository: string;
  on: { kind: "pull_request"; number: number } | { kind: "commit"; sha: string };
  commentId: number;
  by: string;
  command: string;
}

export interface CommandResults {
  watch(deploymentId: string, origin: CommandOrigin): Promise<void>;
}
