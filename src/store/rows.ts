// Rows to records: the one place that knows how a table's columns become the contract's types.
import type { Kysely, Selectable, Transaction } from "kysely";
import type { AppKey, Cause, DeploymentError, DeploymentRecord, Phase, StepRecord, StepStatus } from "../core/types.js";
import type { AppRecord } from "../core/store.js";
import type { AppsTable, Database, DeploymentsTable, StepsTable } from "./schema.js";

/** A query runs on the database or inside a transaction. */
export type Queryable = Kysely<Database> | Transaction<Database>;

export function toJson(value: unknown): string {
  return JSON.stringify(value ?? null);
}

export function appFrom(row: Selectable<AppsTable> & { active_sha?: string | null }): AppRecord {
  return {
    id: row.id,
    key: { installationId: Number(row.installation_id), repository: row.repository, environment: row.environment },
    branch: row.branch,
    specName: row.spec_name ?? undefined,
    untrusted: Boolean(row.untrusted),
    activeDeploymentId: row.active_deployment_id ?? undefined,
    activeSha: row.active_sha ?? undefined,
    removedAt: row.removed_at ?? undefined,
    removedReason: row.removed_reason ?? undefined,
    createdAt: row.created_at,
  };
}

export function recordFrom(row: Selectable<DeploymentsTable>, app: AppKey, steps: Selectable<StepsTable>[] = []): DeploymentRecord {
  return {
    id: row.id,
    appId: row.app_id,
    app,
    sha: row.sha,
    branch: row.branch,
    cause: row.cause as Cause,
    untrusted: Boolean(row.untrusted),
    // Anything but a stored "production" withholds: a value this code does not know gives nothing away.
    secrets: row.secrets === "production" && !row.untrusted ? "production" : "none",
    phase: row.phase as Phase,
    message: row.message ?? undefined,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    steps: steps.map(stepFrom),
    url: row.url ?? undefined,
    ...(row.error ? { error: row.error as DeploymentError } : {}),
  };
}

function stepFrom(row: Selectable<StepsTable>): StepRecord {
  return {
    name: row.name,
    component: row.component ?? undefined,
    status: row.status as StepStatus,
    startedAt: row.started_at ?? undefined,
    endedAt: row.ended_at ?? undefined,
    message: row.message ?? undefined,
  };
}

/** The stop request a running worker reads on its heartbeat: which phase to end in and why. */
export function stopReason(phase: "CANCELED" | "SUPERSEDED", message: string): string {
  return JSON.stringify({ phase, message });
}
