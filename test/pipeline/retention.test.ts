import { afterEach, expect, it } from "vitest";
import { sweepRetention } from "../../src/pipeline/retention.js";
import { silentLog } from "../store/open-store.js";
import { harness, pushIntent, sha, type Harness } from "./helpers.js";

// A store of its own: the sweep looks at every app in it.
let h: Harness;
afterEach(async () => h?.close());

const settings = { keepDeployments: 2, logRetentionMs: 14 * 86_400_000, deliveryRetentionMs: 7 * 86_400_000 };

it("forgets deployments beyond the newest N and asks the runtime to keep only the images the rest still use", async () => {
  h = await harness();
  const deploy = async (n: number) => h.settled((await h.pipeline.submit(pushIntent(h.app, sha(n)))).deploymentId!);
  const first = await deploy(1);
  const second = await deploy(2);
  const third = await deploy(3);
  const rollback = await h.settled((await h.pipeline.submit({ kind: "rollback", app: h.app, toDeploymentId: first.id })).deploymentId!);
  expect(rollback.phase).toBe("ACTIVE");

  const result = await sweepRetention({ store: h.store, runtime: h.runtime, log: silentLog, settings });

  expect(result.deployments).toBe(2);
  const left = (await h.store.deployments.list(first.appId)).map((d) => d.id);
  expect(left).toEqual([rollback.id, third.id]);
  expect(await h.store.logs.count(second.id)).toBe(0);
  // The rollback reuses the first deployment's images: they stay although that deployment is gone.
  const pruned = h.runtime.operations.filter((o) => o.op === "prune-images");
  expect(pruned).toMatchObject([{ appId: first.appId }]);
  expect(pruned[0]!.keep).toEqual(expect.arrayContaining([`memory/${first.appId}/api:${first.id}`, `memory/${first.appId}/api:${third.id}`]));
  expect(pruned[0]!.keep!.some((image) => image.endsWith(second.id))).toBe(false);
});
