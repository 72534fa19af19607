// Deployment logs: chunks appended per step, read in order, followed until the deployment is final.
import type { Kysely } from "kysely";
import type { Phase } from "../core/types.js";
import type { Store } from "../core/store.js";
import { NON_FINAL } from "./deployments.js";
import type { Database } from "./schema.js";

export function createLogs(db: Kysely<Database>): Store["logs"] {
  const logs: Store["logs"] = {
    async append(deploymentId, step, text) {
      if (text === "") return;
      await db.insertInto("logs").values({ deployment_id: deploymentId, step, text }).execute();
    },
    async read(deploymentId, opts = {}) {
      let q = db.selectFrom("logs").selectAll().where("deployment_id", "=", deploymentId);
      if (opts.step !== undefined) q = q.where("step", "=", opts.step);
      if (opts.afterId !== undefined) q = q.where("id", ">", String(opts.afterId));
      if (opts.beforeId !== undefined) q = q.where("id", "<", String(opts.beforeId));
      const rows = await q
        .orderBy("id", opts.newestFirst ? "desc" : "asc")
        .limit(opts.limit ?? 10_000)
        .execute();
      return rows.map((r) => ({ id: Number(r.id), step: r.step, text: r.text, createdAt: r.created_at }));
    },
    async count(deploymentId) {
      const row = await db
        .selectFrom("logs")
        .select((eb) => eb.fn.countAll<string>().as("n"))
        .where("deployment_id", "=", deploymentId)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async *follow(deploymentId, opts = {}) {
      let afterId: number | undefined;
      const pollMs = opts.pollMs ?? 500;
      while (!opts.signal?.aborted) {
        const current = await db.selectFrom("deployments").select("phase").where("id", "=", deploymentId).executeTakeFirst();
        const chunks = await logs.read(deploymentId, { step: opts.step, afterId });
        for (const chunk of chunks) {
          afterId = chunk.id;
          yield chunk;
        }
        if (!current || !NON_FINAL.includes(current.phase as Phase)) return;
        if (chunks.length === 0) await new Promise((resolve) => setTimeout(resolve, pollMs));
      }
    },
  };
  return logs;
}
