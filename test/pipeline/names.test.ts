// An app name and every custom domain belong to one app: a second repository that claims either fails with
// NAME_TAKEN naming the owner and changes nothing of the first app; previews never take custom domains.
import { afterEach, describe, expect, it } from "vitest";
import type { AppKey, PipelineEvent } from "../../src/core/types.js";
import type { RolloutRequest } from "../../src/runtime/runtime.js";
import { harness, pushIntent, sha, type Harness } from "./helpers.js";

function spec(name: string, domains: string[] = []): string {
  const listed = domains.length ? `domains:\n${domains.map((d) => `  - domain: ${d}\n`).join("")}` : "";
  return `name: ${name}\nservices:\n  - name: web\n    github: { repo: acme/web, branch: main }\n    http_port: 8080\n${listed}`;
}

let h: Harness;
let rollouts: RolloutRequest[];
let failBuilds: boolean;
afterEach(async () => h?.close());

async function start() {
  rollouts = [];
  failBuilds = false;
  h = await harness({
    runtime: {
      hooks: {
        rollout: (req) => void rollouts.push(req),
        build: () => {
          if (failBuilds) throw new Error("compiler crashed");
        },
      },
    },
  });
}

async function deploy(app: AppKey, commit: string, text: string) {
  h.source.specs.set(commit, text);
  const { deploymentId } = await h.pipeline.submit(pushIntent(app, commit));
  return h.settled(deploymentId!);
}

function previewIntent(app: AppKey, number: number, commit: string) {
  return {
    kind: "deploy" as const,
    app: { ...app, environment: `pr-${number}` },
    branch: "feature",
    sha: commit,
    cause: { type: "pull_request" as const, number, sha: commit, headRepository: app.repository, fork: false },
  };
}

/** What the memory runtime serves for the app, as plain data (to compare before and after). */
function servingOf(appId: string) {
  return structuredClone([...(h.runtime.serving.get(appId) ?? new Map()).entries()]);
}

describe("names and domains belong to one app", () => {
  it("fails a second repository with the same name, naming the first, and leaves the first as it was", async () => {
    await start();
    const first = h.app;
    const second = { ...h.app, repository: `${h.app.repository}-copy` };
    const live = await deploy(first, sha(1), spec("shop", ["shop.example.com"]));
    expect(live).toMatchObject({ phase: "ACTIVE", url: "http://shop.localhost" });
    const before = servingOf(live.appId);
    const rolledOutBefore = rollouts.length;

    const refused = await deploy(second, sha(2), spec("shop"));
    expect(refused.phase).toBe("ERROR");
    expect(refused.message).toBe(`the app name shop belongs to ${first.repository} (production)`);
    expect(refused.error).toMatchObject({ code: "NAME_TAKEN" });
    expect(refused.error!.markdown).toContain("name:");
    expect(refused.steps.find((s) => s.name === "spec")).toMatchObject({ status: "ERROR" });
    // Nothing was built or rolled out for the second app; the first serves exactly what it served.
    expect(h.runtime.operations.filter((o) => o.deploymentId === refused.id)).toEqual([]);
    expect(rollouts.length).toBe(rolledOutBefore);
    expect(h.runtime.serving.has(refused.appId)).toBe(false);
    expect(servingOf(live.appId)).toEqual(before);
    expect((await h.store.apps.get(live.appId))!.activeDeploymentId).toBe(live.id);
  });

  it("fails a second repository that lists another app's domain, taking none of its names", async () => {
    await start();
    const first = h.app;
    const second = { ...h.app, repository: `${h.app.repository}-squatter` };
    const live = await deploy(first, sha(1), spec("shop", ["shop.example.com"]));
    const before = servingOf(live.appId);

    const refused = await deploy(second, sha(2), spec("squat", ["free.example.com", "SHOP.example.com"]));
    expect(refused).toMatchObject({ phase: "ERROR", message: `the domain shop.example.com belongs to ${first.repository} (production)` });
    expect(refused.error!.markdown).toContain("domains:");
    expect(servingOf(live.appId)).toEqual(before);
    expect(rollouts.every((r) => r.appId === live.appId)).toBe(true);
    // The refused claim took nothing: a third app gets the name and the free domain.
    const third = { ...h.app, repository: `${h.app.repository}-third` };
    expect(await deploy(third, sha(3), spec("squat", ["free.example.com"]))).toMatchObject({ phase: "ACTIVE" });
  });

  it("lets go of a dropped domain only once the deployment that dropped it is ACTIVE", async () => {
    await start();
    const other = { ...h.app, repository: `${h.app.repository}-other` };
    await deploy(h.app, sha(1), spec("shop", ["a.example.com", "b.example.com"]));
    failBuilds = true;
    expect(await deploy(h.app, sha(2), spec("shop", ["a.example.com"]))).toMatchObject({ phase: "ERROR" });
    failBuilds = false;
    expect(await deploy(other, sha(3), spec("other", ["b.example.com"]))).toMatchObject({ phase: "ERROR", error: { code: "NAME_TAKEN" } });
    expect(await deploy(h.app, sha(4), spec("shop", ["a.example.com"]))).toMatchObject({ phase: "ACTIVE" });
    const taken = await deploy(other, sha(5), spec("other", ["b.example.com"]));
    expect(taken).toMatchObject({ phase: "ACTIVE" });
    expect(rollouts.find((r) => r.deploymentId === taken.id)!.domains).toEqual(["b.example.com"]);
  });

  it("deploys a preview without the spec's custom domains and says so", async () => {
    await start();
    h.source.specs.set(sha(1), spec("shop", ["shop.example.com"]));
    const { deploymentId } = await h.pipeline.submit(previewIntent(h.app, 3, sha(1)));
    const preview = await h.settled(deploymentId!);
    expect(preview).toMatchObject({ phase: "ACTIVE", url: "http://shop-pr-3.localhost" });
    expect(rollouts.find((r) => r.deploymentId === preview.id)!.domains).toEqual([]);
    expect(preview.steps.find((s) => s.name === "spec")!.message).toBe("custom domains are not served for previews (shop.example.com)");
    // The preview came first, yet production of another repository gets the domain.
    const production = { ...h.app, repository: `${h.app.repository}-prod` };
    expect(await deploy(production, sha(2), spec("store", ["shop.example.com"]))).toMatchObject({ phase: "ACTIVE" });
  });

  it("a torn-down app lets go of its name, so another app can take it", async () => {
    await start();
    const other = { ...h.app, repository: `${h.app.repository}-other` };
    h.source.specs.set(sha(1), spec("shop"));
    const mine = await h.settled((await h.pipeline.submit(previewIntent(h.app, 3, sha(1)))).deploymentId!);
    expect(mine).toMatchObject({ phase: "ACTIVE", url: "http://shop-pr-3.localhost" });
    const refused = await h.settled((await h.pipeline.submit(previewIntent(other, 3, sha(1)))).deploymentId!);
    expect(refused).toMatchObject({ phase: "ERROR", message: `the app name shop-pr-3 belongs to ${h.app.repository} (pr-3)` });

    const removed = new Promise<PipelineEvent>((resolve) => h.pipeline.on((e) => e.type === "app.removed" && resolve(e)));
    await h.pipeline.submit({ kind: "teardown", app: { ...h.app, environment: "pr-3" }, reason: "pull request closed" });
    await removed;
    const taken = await h.settled((await h.pipeline.submit(previewIntent(other, 3, sha(2)))).deploymentId!);
    expect(taken).toMatchObject({ phase: "ACTIVE", url: "http://shop-pr-3.localhost" });
  });
});
