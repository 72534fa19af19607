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
import type { EventWorker } from "./worker.js";

export interface RegisterHandlersOptions {
  inbox: Pick<Inbox, "accept">;
  worker: Pick<EventWorker, "accept">;
  /** The GitHub App's id: check runs and suites of other apps are not Berth's business. */
  appId: number;
  /**
   * The sha256 of each delivery's raw body by delivery id, filled by the webhook guard while the handlers run.
   * Deliveries that arrive another way (`probot.receive` in tests) are deduped on their id alone.
   */
  bodyDigests?: ReadonlyMap<string, string>;
}

export function registerHandlers(app: Probot, o: RegisterHandlersOptions): void {
  const record = async (context: Context, event: BerthEvent | Ignored | null): Promise<void> => {
    if (event === null) return;
    const log = context.log.child({ deliveryId: context.id, event: context.name });
    if ("ignored" in event) {
      log.debug({ reason: event.ignored }, "delivery ignored");
      return;
    }
    // The signature covers the body, not the headers: a captured body can be replayed under fresh delivery ids
    // (and event names). GitHub never sends one body for two events, so a body seen before is a replay. The
    // deliveries table keeps these keys as long as it keeps delivery ids: that retention is the replay window.
    // A failure to commit throws: Probot answers 500 and nothing was recorded, so a redelivery is taken.
    const entry = { id: context.id, event, receivedAt: new Date().toISOString() };
    const verdict = await o.inbox.accept(entry, o.bodyDigests?.get(context.id));
    if (verdict === "redelivery") {
      log.debug("redelivery of a delivery already recorded; ignored");
      return;
    }
    if (verdict === "replay") {
      log.warn("a body already received under another delivery id; ignored as a replay");
      return;
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
