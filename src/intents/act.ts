// The asynchronous half of every webhook: after the delivery was acknowledged, decide whether it concerns an
// app (which takes GitHub calls: the spec at the commit, permissions, the PR head) and hand the pipeline an
// intent. Nothing here runs inside the webhook request. Each event kind has its own file; this one only
// builds their shared context and dispatches.
import type { Logger } from "pino";
import type { BerthEvent } from "../webhooks/events.js";
import { onCheckRun, onCheckSuiteRerun } from "./check-runs.js";
import { onCommand } from "./commands.js";
import { createActContext, RefusedIntent, type ActContext, type ActOptions } from "./context.js";
import { onCheckSuite } from "./gate.js";
import { onInstallation } from "./installation.js";
import { onPullRequest } from "./pull-request.js";
import { onPush } from "./push.js";

export type Act = (event: BerthEvent, deliveryId: string) => Promise<void>;

export function createAct(options: ActOptions): Act {
  const ctx = createActContext(options);
  return async (event, deliveryId) => {
    const log = options.log.child({ deliveryId, event: event.type, ...("repository" in event ? { repository: event.repository } : {}) });
    try {
      await dispatch(ctx, event, deliveryId, log);
    } catch (err) {
      // Already logged where the pipeline refused it; acting on the delivery again cannot change that.
      if (err instanceof RefusedIntent) return;
      throw err;
    }
  };
}

function dispatch(ctx: ActContext, event: BerthEvent, deliveryId: string, log: Logger): Promise<void> {
  switch (event.type) {
    case "push":
      return onPush(ctx, event, deliveryId, log);
    case "pull_request":
      return onPullRequest(ctx, event, deliveryId, log);
    case "installation":
      return onInstallation(ctx, event, deliveryId, log);
    case "check_run":
      return onCheckRun(ctx, event, deliveryId, log);
    case "check_suite":
      return onCheckSuite(ctx, event, deliveryId, log);
    case "check_suite_rerun":
      return onCheckSuiteRerun(ctx, event, deliveryId, log);
    case "command":
      return onCommand(ctx, event, deliveryId, log);
  }
}
