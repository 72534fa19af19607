import { afterEach, describe, expect, it } from "vitest";
import { API_KEY, harness, sha, type Harness } from "./helpers.js";

function pullRequestIntent(h: Harness, commit: string, fork: boolean) {
  return {
    kind: "deploy" as const,
    app: { ...h.app, environment: "pr-7" },
    branch: "feature",
    sha: commit,
    cause: { type: "pull_request" as const, number: 7, sha: commit, headRepository: fork ? "mallory/shop" : h.app.repository, fork },
  };
}

describe("pull-request previews and secrets", () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it("withholds every SECRET env from a fork's build and containers, and keeps the others", async () => {
    h = await harness();
    const id = (await h.pipeline.submit(pullRequestIntent(h, sha(1), true))).deploymentId!;
    const done = await h.settled(id);
    expect(done.phase).toBe("ACTIVE");
    const api = h.runtime.serving.get(done.appId)!.get("api")!;
    expect(api.env).not.toHaveProperty("API_KEY");
    expect(api.env).toHaveProperty("SELF_URL");
    expect(JSON.stringify(h.runtime.operations)).not.toContain(API_KEY);
  });

  it("gives a same-repository pull request its secrets", async () => {
    h = await harness();
    const id = (await h.pipeline.submit(pullRequestIntent(h, sha(2), false))).deploymentId!;
    const done = await h.settled(id);
    expect(done.phase).toBe("ACTIVE");
    expect(h.runtime.serving.get(done.appId)!.get("api")!.env.API_KEY).toBe(API_KEY);
  });
});
