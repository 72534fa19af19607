import { describe, expect, it } from "vitest";
import { checkRunState } from "../../src/github/check-run-body.js";
import type { DeploymentError, StepRecord } from "../../src/core/types.js";
import { deployment } from "./kit.js";

const failedJob: StepRecord = { name: "job migrate", component: "migrate", status: "ERROR", message: "job migrate timed out after 600s" };

describe("checkRunState of a failed deployment", () => {
  it("takes the conclusion from the error's code, not from the text", () => {
    const error: DeploymentError = { code: "JOB_FAILED", step: "job migrate", component: "migrate" };
    const state = checkRunState(deployment({ phase: "ERROR", message: "job migrate timed out after 600s", steps: [failedJob], error }));
    expect(state.conclusion).toBe("failure");
  });

  it("concludes timed_out for a failure the runtime marked as out of time", () => {
    const error: DeploymentError = { code: "JOB_FAILED", step: "job migrate", timedOut: true };
    expect(checkRunState(deployment({ phase: "ERROR", steps: [failedJob], error })).conclusion).toBe("timed_out");
  });

  it("never reads a timeout from the text: a deployment stored without an error is a plain failure", () => {
    expect(checkRunState(deployment({ phase: "ERROR", steps: [failedJob] })).conclusion).toBe("failure");
  });

  it("titles the run with the message and explains it with the error's Markdown", () => {
    const error: DeploymentError = { code: "BUILD_FAILED", step: "build web", markdown: "The build of `web` failed.\n\nFix the Dockerfile." };
    const state = checkRunState(
      deployment({ phase: "ERROR", message: "build of web failed: exit 1", steps: [{ name: "build web", status: "ERROR" }], error }),
    );
    expect(state.output.title).toBe("Failed: build of web failed: exit 1");
    expect(state.output.summary).toContain("The build of `web` failed.\n\nFix the Dockerfile.");
    expect(state.output.summary).not.toContain("> build of web failed");
  });

  it("quotes the message when the error has no Markdown", () => {
    const state = checkRunState(deployment({ phase: "ERROR", message: "build of web failed: exit 1", error: { code: "BUILD_FAILED" } }));
    expect(state.output.summary).toContain("> build of web failed: exit 1");
  });

  it("takes the log tail of the step the error names", () => {
    const steps: StepRecord[] = [
      { name: "build api", status: "ERROR", message: "canceled with the deploy" },
      { name: "build web", status: "ERROR", message: "exit 1" },
    ];
    const state = checkRunState(deployment({ phase: "ERROR", steps, error: { code: "BUILD_FAILED", step: "build web" } }), { logTail: ["boom"] });
    expect(state.output.text).toBe("Last lines of build web:\n\n```\nboom\n```");
  });
});
