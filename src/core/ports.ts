// The ports between rooms, stated narrowly so each side can be tested with small fakes and wired in main.ts:
// what the pipeline needs to fetch code (SourceProvider, implemented in src/github/), what intake and the
// reporters need from the store and the pipeline, and the parts of a parsed spec the GitHub layer reads.
import type { AppKey, DeploymentRecord, Intent, PipelineEvent } from "./types.js";

/** A delivery to keep: its id, the sha256 of its body when known, and the inbox entry to act on later. */
export interface InboxDelivery {
  id: string;
  digest?: string;
  entry: { id: string };
}

/** What became of one delivery: kept in the inbox, a redelivery of a known id, or a known body (a replay). */
export type InboxVerdict = "new" | "redelivery" | "replay";

/** The intake's durable inbox. Each call is one transaction, so a batch costs one commit (one fsync). */
export interface InboxStore {
  /**
   * Records each delivery's id and `sha256:<digest>` (in order, so a batch can hold a redelivery of its own
   * first delivery) and keeps the entry of each new one; replaces the `put` entries; deletes the `remove` ids.
   */
  commitInbox(changes: { accept: readonly InboxDelivery[]; put: ReadonlyArray<{ id: string }>; remove: readonly string[] }): Promise<InboxVerdict[]>;
  /** Every entry kept, oldest first. */
  listInbox(): Promise<unknown[]>;
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

/** Parses a spec; may answer later (Berth parses off its event loop, in a worker thread). */
export type SpecParser = (
  text: string,
  options: { template?: boolean },
) => SpecParse | Promise<SpecParse>;

export interface SpecParse {
  spec: SpecView | null;
  problems: SpecProblem[];
}

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

export interface FetchedSpec {
  /** Repository-relative path the spec was read from (`.do/app.yaml`). */
  path: string;
  /** Empty when the file is larger than Berth reads (then `size` says how large). */
  text: string;
  /** The file's size in bytes as GitHub reported it. */
  size?: number;
}

/** How the pipeline gets code. The GitHub layer implements it with the contents and tarball APIs. */
export interface SourceProvider {
  /** The spec file at a commit, or null when the repository has none. */
  readSpec(app: AppKey, sha: string, signal: AbortSignal): Promise<FetchedSpec | null>;
  /** Extract the repository at `sha` into `dest` (an empty directory). */
  fetchSource(app: AppKey, sha: string, dest: string, signal: AbortSignal): Promise<void>;
  /** Secrets the provider used (installation tokens), for the redactor. */
  secrets(): string[];
}
