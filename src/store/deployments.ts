// The deployments aggregate: a deployment, its phase (a compare-and-set on the transition table) and steps.
import type { Kysely } from "kysely";
import { IllegalTransitionError, NON_FINAL_PHASES, phasesLeadingTo } from "../core/phases.js";
import type { DeploymentRecord, Phase } from "../core/types.js";
import type { DeploymentInternals, Store } from "../core/store.js";
import type { SqlFlavor } from "./flavor.js";
import { recordFrom, stopReason, toJson, type Queryable } from "./rows.js";
import type { Database } from "./schema.js";

export const NON_FINAL = NON_FINAL_PHASES as Phase[];

function deploymentQuery(q: Queryable) {
  return q
    .selectFrom("deployments as d")
    .innerJoin("apps as a", "a.id", "d.app_id")
    .selectAll("d")
    .select(["a.installation_id", "a.repository", "a.environment"]);
}

async function readDeployment(q: Queryable, id: string): Promise<DeploymentInternals | undefined> {
  const row = await deploymentQuery(q).where("d.id", "=", id).executeTakeFirst();
  if (!row) return undefined;
  const steps = await q.selectFrom("steps").selectAll().where("deployment_id", "=", id).orderBy("position").execute();
  return {
    record: recordFrom(row, { installationId: Number(row.installation_id), repository: row.repository, environment: row.environment }, steps),
    kind: row.kind,
    intent: row.intent,
    spec: row.spec ?? undefined,
    images: row.images ?? {},
    cancelRequested: row.cancel_requested ?? undefined,
    stepResults: new Map(steps.filter((s) => s.result !== null).map((s) => [s.name, s.result])),
  };
}

export async function mustRead(q: Queryable, id: string): Promise<DeploymentRecord> {
  const d = await readDeployment(q, id);
  if (!d) throw new Error(`deployment ${id} does not exist`);
  return d.record;
}

async function transitionIn(q: Queryable, f: SqlFlavor, id: string, to: Phase, fields: { message?: string; url?: string } = {}): Promise<DeploymentRecord> {
  const updated = await q
    .updateTable("deployments")
    .set({
      phase: to,
      updated_at: f.now,
      ...(fields.message !== undefined ? { message: fields.message } : {}),
      ...(fields.url !== undefined ? { url: fields.url } : {}),
      ...(NON_FINAL.includes(to) ? {} : { ended_at: f.now }),
    })
    .where("id", "=", id)
    .where("phase", "in", phasesLeadingTo(to))
    .returning("id")
    .executeTakeFirst();
  if (!updated) {
    const current = await q.selectFrom("deployments").select("phase").where("id", "=", id).executeTakeFirst();
    throw new IllegalTransitionError(id, (current?.phase as Phase | undefined) ?? null, to);
  }
  return mustRead(q, id);
}

export function createDeployments(db: Kysely<Database>, f: SqlFlavor): Store["deployments"] {
  return {
    async get(id) {
      return (await readDeployment(db, id))?.record;
    },
    internals: (id) => readDeployment(db, id),
    async list(appId, opts = {}) {
      let q = db.selectFrom("deployments").select("id").where("app_id", "=", appId);
      if (opts.phases?.length) q = q.where("phase", "in", opts.phases);
      const ids = await q
        .orderBy("seq", "desc")
        .limit(opts.limit ?? 50)
        .execute();
      return Promise.all(ids.map((r) => mustRead(db, r.id)));
    },
    transition: (id, to, fields) => transitionIn(db, f, id, to, fields),
    async update(id, fields) {
      await db
        .updateTable("deployments")
        .set({
          updated_at: f.now,
          ...(fields.spec !== undefined ? { spec: toJson(fields.spec) } : {}),
          ...(fields.images !== undefined ? { images: f.mergeJson("images", toJson(fields.images)) } : {}),
          ...(fields.message !== undefined ? { message: fields.message } : {}),
          ...(fields.error !== undefined ? { error: toJson(fields.error) } : {}),
        })
        .where("id", "=", id)
        .execute();
    },
    activate: (id, { url }) => db.transaction().execute((tx) => activateIn(tx, f, id, url)),
    async requestCancel(id, reason, phase = "CANCELED") {
      const row = await db
        .updateTable("deployments")
        .set({ cancel_requested: stopReason(phase, reason) })
        .where("id", "=", id)
        .where("phase", "in", NON_FINAL)
        .returning("id")
        .executeTakeFirst();
      return row !== undefined;
    },
  };
}

async function activateIn(tx: Queryable, f: SqlFlavor, id: string, url: string | undefined) {
  const deployment = await transitionIn(tx, f, id, "ACTIVE", { url });
  const app = await tx
    .selectFrom("apps")
    .select(["active_deployment_id"])
    .where("id", "=", deployment.appId)
    .$if(f.rowLocks, (q) => q.forUpdate())
    .executeTakeFirstOrThrow();
  await tx.updateTable("apps").set({ active_deployment_id: id, updated_at: f.now }).where("id", "=", deployment.appId).execute();
  let previous: DeploymentRecord | undefined;
  if (app.active_deployment_id && app.active_deployment_id !== id) {
    previous = await transitionIn(tx, f, app.active_deployment_id, "SUPERSEDED", {
      message: `replaced by deployment ${id} (${deployment.sha.slice(0, 7)})`,
    });
  }
  return { deployment, previous };
}

export function createSteps(db: Kysely<Database>): Store["steps"] {
  return {
    async put(deploymentId, step) {
      const values = {
        deployment_id: deploymentId,
        name: step.name,
        position: step.position,
        component: step.component ?? null,
        status: step.status,
        started_at: step.startedAt ?? null,
        ended_at: step.endedAt ?? null,
        message: step.message ?? null,
        result: step.result === undefined ? null : toJson(step.result),
      };
      await db
        .insertInto("steps")
        .values(values)
        .onConflict((oc) =>
          oc.columns(["deployment_id", "name"]).doUpdateSet({
            status: values.status,
            started_at: values.started_at,
            ended_at: values.ended_at,
            message: values.message,
            result: values.result,
          }),
        )
        .execute();
    },
  };
}
