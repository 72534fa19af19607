// The webhook side: subscribe to exactly the actions Berth handles, translate the payload, drop what is not
// needed or already seen, record the rest in the inbox and return. GitHub waits 10 s for an answer and never
// retries by itself, so nothing slow (no GitHub call) happens here; the worker acts afterwards.
import type { Context, Probot } from "probot";
import type { BerthEvent, Ignored } from "./events.js";
import {
  fromCheckRun,
  fromCheckSuite,
  fromCommitComment,
  fromInstallation,
  fromIssueComment,
  fromPullRequest,
  fromPush,
} from "./events.js";
import type { Inbox } from "./inbox.js";
import type { DeliveryLog } from "../core/ports.js";
import type { EventWorker } from "./worker.js";

export interface RegisterHandlersOptions {
  deliveries: DeliveryLog;
  inbox: Inbox;
  worker: Pick<EventWorker, "accept">;
  /** The GitHub App's id: check runs and suites of other apps are not Berth's business. */
  appId: number;
}

export function registerHandlers(app: Probot, o: RegisterHandlersOptions): void {
  const record = async (context: Context, event: BerthEvent | Ignored | null): Promise<void> => {
    if (event === null) return;
    const log = context.log.child({ deliveryId: context.id, event: context.name });
    if ("ignored" in event) {
      log.debug({ reason: event.ignored }, "delivery ignored");
      return;
    }
    if (!(await o.deliveries.recordDelivery(context.id))) {
      log.debug("redelivery of a delivery already recorded; ignored");
      return;
    }
    const entry = { id: context.id, event, receivedAt: new Date().toISOString() };
    try {
      await o.inbox.add(entry);
    } catch (err) {
      // The delivery is recorded, so a redelivery would be ignored: act on it now rather than lose it.
      log.error({ err }, "could not queue the delivery durably; acting on it without a restart guarantee");
    }
    o.worker.accept(entry);
  };

  app.on("push", (c) => record(c as Context, fromPush(c.payload)));
  app.on(["pull_request.opened", "pull_request.synchronize", "pull_request.reopened", "pull_request.closed"], (c) =>
    record(c as Context, fromPullRequest(c.payload)),
  );
  app.on(["installation.created", "installation.deleted"], (c) => record(c as Context, fromInstallation(c.payload)));
  app.on(["installation_repositories.added", "installation_repositories.removed"], (c) =>
    record(c as Context, fromInstallation(c.payload)),
  );
  app.on(["check_run.rerequested", "check_run.requested_action"], (c) =>
    record(c as Context, fromCheckRun(c.payload, o.appId)),
  );
  app.on(["check_suite.completed", "check_suite.rerequested"], (c) => record(c as Context, fromCheckSuite(c.payload, o.appId)));
  app.on("issue_comment.created", (c) => record(c as Context, fromIssueComment(c.payload)));
  app.on("commit_comment.created", (c) => record(c as Context, fromCommitComment(c.payload)));
}
