// Table shapes as Kysely sees them. Timestamps are timestamptz (Date out); JSON columns are jsonb, written as
// JSON text and read back parsed by both drivers.
import type { ColumnType, Generated, JSONColumnType } from "kysely";
import type { DeploymentKind } from "../core/types.js";

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type BigIntId = ColumnType<string | number, number, number>;

export interface AppsTable {
  id: string;
  installation_id: BigIntId;
  repository: string;
  environment: string;
  branch: string;
  spec_name: string | null;
  untrusted: Generated<boolean>;
  active_deployment_id: string | null;
  removed_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  removed_reason: string | null;
  teardown_pending: Generated<boolean>;
  lease_owner: string | null;
  lease_expires_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface DeploymentsTable {
  id: string;
  app_id: string;
  seq: Generated<string>;
  kind: DeploymentKind;
  sha: string;
  branch: string;
  cause: JSONColumnType<object>;
  intent: JSONColumnType<object>;
  untrusted: Generated<boolean>;
  secrets: Generated<string>;
  phase: string;
  message: string | null;
  spec: JSONColumnType<object | null, string | null, string | null>;
  images: JSONColumnType<Record<string, string>>;
  url: string | null;
  cancel_requested: string | null;
  error: JSONColumnType<object | null, string | null | undefined, string | null>;
  delivery_id: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  ended_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

export interface StepsTable {
  deployment_id: string;
  name: string;
  position: number;
  component: string | null;
  status: string;
  started_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  ended_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  message: string | null;
  result: JSONColumnType<object | null, string | null, string | null>;
}

export interface LogsTable {
  id: Generated<string>;
  deployment_id: string;
  step: string;
  text: string;
  created_at: Timestamp;
}

export interface DeliveriesTable {
  id: string;
  received_at: Timestamp;
}

export interface StateTable {
  key: string;
  value: ColumnType<unknown, string, string>;
  updated_at: Timestamp;
}

export interface ClaimsTable {
  /** The router's host label or a custom domain, lower case. */
  name: string;
  kind: "host" | "domain";
  app_id: string;
  created_at: Timestamp;
}

export interface SecretsTable {
  /** `owner/name`, lower case. */
  repository: string;
  environment: string;
  key: string;
  /** What src/secrets/ sealed: AES-256-GCM, bound to repository, environment and key. */
  sealed: string;
  updated_at: Timestamp;
}

export interface ApiTokensTable {
  id: string;
  name: string;
  /** Hex SHA-256 of the token. */
  hash: string;
  created_at: Timestamp;
  last_used_at: ColumnType<Date | null, Date | null | undefined, Date | string | null>;
  revoked_at: ColumnType<Date | null, Date | null | undefined, Date | string | null>;
}

export interface Database {
  apps: AppsTable;
  deployments: DeploymentsTable;
  steps: StepsTable;
  logs: LogsTable;
  deliveries: DeliveriesTable;
  state: StateTable;
  claims: ClaimsTable;
  secrets: SecretsTable;
  api_tokens: ApiTokensTable;
}

/** Columns holding JSON (jsonb on PostgreSQL, JSON text on SQLite). */
export const JSON_COLUMNS: ReadonlySet<string> = new Set(["cause", "intent", "spec", "images", "error", "result", "value"]);
/** Columns holding a boolean (0/1 on SQLite). */
export const BOOLEAN_COLUMNS: ReadonlySet<string> = new Set(["teardown_pending", "untrusted"]);
