// The fork property: no sequence of pushes, buttons, commands, rollbacks, restarts and failing rollouts gives a
// fork's code (or a same-repository preview that was not opted in) a SECRET value or a database URL, while
// production keeps getting its own.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppKey, DeploymentRecord, Intent } from "../../src/core/types.js";
import { harness, pushIntent, sha, type Harness } from "./helpers.js";
import { DB_URL, SECRET, leaks, operatorDatabases, previewIntent, recordingHooks, seenFor, trustSpec, type SeenRequest } from "./trust-fixture.js";

type Target = "fork" | "same" | "production";
type Action =
  | { type: "push"; target: Target; fails: boolean }
  | { type: "redeploy" | "rebuild" | "rerun"; target: Target; pick: number }
  | { type: "rollback"; target: Target; pick: number }
  | { type: "restart"; target: Target };

const target = fc.constantFrom<Target>("fork", "fork", "same", "production");
const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ type: fc.constant("push" as const), target, fails: fc.boolean() }),
  fc.record({ type: fc.constantFrom("redeploy" as const, "rebuild" as const, "rerun" as const), target, pick: fc.nat() }),
  fc.record({ type: fc.constant("rollback" as const), target, pick: fc.nat() }),
  fc.record({ type: fc.constant("restart" as const), target }),
);

describe("fork previews never meet a secret", () => {
  let h: Harness;
  const seen: SeenRequest[] = [];
  let run = 0;
  let commit = 0;
  beforeAll(async () => {
    h = await harness({ runtime: { hooks: recordingHooks(seen) }, pipeline: { bindContext: operatorDatabases([]) } });
    h.source.specs.set("default", trustSpec());
  });
  afterAll(() => h.close());

  /** The intent a push (or a PR's opened/synchronize, approved) or a button press sends, as intake builds it. */
  async function intentFor(apps: Record<Target, AppKey>, a: Action): Promise<Intent | undefined> {
    const app = apps[a.target];
    if (a.type === "push") {
      const next = sha(++commit);
      if (a.fails) h.source.specs.set(next, trustSpec({ failRollout: true }));
      if (a.target === "production") return pushIntent(app, next);
      return previewIntent({ ...app, environment: "production" }, a.target === "fork" ? 7 : 8, next, a.target === "fork");
    }
    if (a.type === "restart") return { kind: "restart", app, by: "maintainer" };
    const history = await h.pipeline.listDeployments(app);
    const candidates = a.type === "rollback" ? history.filter((d) => d.phase === "ACTIVE" || d.phase === "SUPERSEDED") : history;
    const d: DeploymentRecord | undefined = candidates[a.pick % Math.max(candidates.length, 1)];
    if (!d) return undefined;
    // What src/intents/check-runs.ts submits: the deployment's own app key, as a plain manual deploy.
    if (a.type === "rollback") return { kind: "rollback", app: d.app, toDeploymentId: d.id, by: "maintainer" };
    if (a.type === "rebuild") return { kind: "deploy", app: d.app, branch: d.branch, sha: d.sha, cause: { type: "force_rebuild" }, forceBuild: true };
    return { kind: "deploy", app: d.app, branch: d.branch, sha: d.sha, cause: { type: "manual", by: "maintainer" } };
  }

  async function perform(apps: Record<Target, AppKey>, a: Action): Promise<void> {
    const intent = await intentFor(apps, a);
    if (!intent) return;
    let id: string | undefined;
    try {
      id = (await h.pipeline.submit(intent)).deploymentId;
    } catch {
      return; // refused (nothing to restart): the person pressing is told, nothing runs
    }
    if (id) await h.settled(id);
  }

  it("holds for every sequence of actions", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 8 }), async (actions) => {
        const repository = `acme/prop-${process.pid}-${++run}`;
        const production = { installationId: 1, repository, environment: "production" };
        const apps = { production, fork: { ...production, environment: "pr-7" }, same: { ...production, environment: "pr-8" } };
        for (const a of actions) await perform(apps, a);
        for (const key of [apps.fork, apps.same]) {
          const app = await h.store.apps.find(key);
          if (app) expect(leaks(seenFor(h, seen, app.id)), `${key.environment} after ${JSON.stringify(actions)}`).toBe(false);
        }
        const prod = await h.store.apps.find(production);
        const serving = prod && h.runtime.serving.get(prod.id)?.get("api");
        if (serving) expect(serving.env).toMatchObject({ API_KEY: SECRET, DATABASE_URL: DB_URL });
      }),
      { numRuns: 30, seed: 12 },
    );
  }, 120_000);
});
