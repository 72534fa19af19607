// The buttons resubmit a fork's preview as a plain manual deploy; that is safe only because they name the
// preview's own app key, whose stored untrusted mark the pipeline applies (test/pipeline/fork.test.ts).
import nock from "nock";
import { describe, expect, it } from "vitest";
import { API, deployment, example, mockToken, useStrictNock } from "../github/kit.js";
import { APP_ID, createHarness } from "./harness.js";

type Payload = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
const preview = { installationId: 690857, repository: "electron/electron", environment: "pr-7" };
const forkDeployment = deployment({
  id: "dep-fork",
  app: preview,
  sha: SHA,
  branch: "feature",
  cause: { type: "pull_request", number: 7, sha: SHA, headRepository: "mallory/electron", fork: true },
  untrusted: true,
  secrets: "none",
});

describe("buttons on a fork's preview", () => {
  useStrictNock();

  it("submit Redeploy, Force rebuild, Re-run and Roll back for the preview's own app key", async () => {
    const h = createHarness({ deployments: [forkDeployment] });
    const press = (identifier: string | null) => {
      const p = example<Payload>("check_run", (x) => x.action === "requested_action");
      p.check_run.app.id = APP_ID;
      p.check_run.external_id = forkDeployment.id;
      if (identifier === null) {
        p.action = "rerequested";
        delete p.requested_action;
      } else {
        p.requested_action.identifier = identifier;
      }
      return p;
    };
    await h.probot.receive({ id: "b-1", name: "check_run", payload: press("redeploy") } as never);
    await h.probot.receive({ id: "b-2", name: "check_run", payload: press("rebuild") } as never);
    await h.probot.receive({ id: "b-3", name: "check_run", payload: press(null) } as never);
    await h.probot.receive({ id: "b-4", name: "check_run", payload: press("rollback") } as never);
    await h.worker.idle();
    const intents = h.submitted.map((s) => s.intent);
    expect(intents.map((i) => i.kind)).toEqual(["deploy", "deploy", "deploy", "rollback"]);
    for (const intent of intents) expect(intent.app).toEqual(preview);
    expect(intents.filter((i) => i.kind === "deploy").map((i) => i.kind === "deploy" && i.sha)).toEqual([SHA, SHA, SHA]);
  });

  it("submit Re-run all checks for the preview's own app key", async () => {
    const h = createHarness({ deployments: [forkDeployment] });
    const payload = example<Payload>("check_suite", (p) => p.action === "rerequested");
    payload.check_suite.app.id = APP_ID;
    payload.check_suite.head_sha = SHA;
    payload.repository.full_name = "electron/electron";
    mockToken(payload.installation.id);
    nock(API)
      .get(`/repos/electron/electron/check-suites/${payload.check_suite.id}/check-runs`)
      .query({ per_page: 100 })
      .reply(200, { total_count: 1, check_runs: [{ external_id: forkDeployment.id }] });
    await h.probot.receive({ id: "s-1", name: "check_suite", payload } as never);
    await h.worker.idle();
    expect(h.submitted.map((s) => s.intent)).toEqual([
      { kind: "deploy", app: preview, branch: "feature", sha: SHA, cause: { type: "manual", by: payload.sender.login } },
    ]);
  });
});
