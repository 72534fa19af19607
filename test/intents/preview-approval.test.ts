// A fork's `/berth preview` approves the head the maintainer saw, or the commit the comment names; never a
// head pushed while the comment waited.
import nock from "nock";
import { describe, expect, it } from "vitest";
import { approvalKey } from "../../src/intents/pull-request.js";
import { API, example, mockToken, useStrictNock } from "../github/kit.js";
import { createHarness, mockSpec, specYaml } from "./harness.js";

type Payload = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const PR_HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
const prExample = (action: string) => example<Payload>("pull_request", (p) => p.action === action && Boolean(p.installation));

const B = "b".repeat(40);

/** A fork pull request's head arriving at GitHub's time `at`: only the spec check runs. */
async function forkHead(h: ReturnType<typeof createHarness>, id: string, sha: string, at: string) {
  const payload = prExample("synchronize");
  payload.pull_request.head.repo.full_name = "mallory/Hello-World";
  payload.pull_request.head.sha = sha;
  payload.pull_request.updated_at = at;
  mockSpec("Codertocat/Hello-World", sha, specYaml("Codertocat/Hello-World", "master"));
  nock(API).post("/repos/Codertocat/Hello-World/check-runs").reply(201, { id: 5 });
  await h.probot.receive({ id, name: "pull_request", payload } as never);
  await h.worker.idle();
}

/** A maintainer's comment written at `at`, answered while the pull request's head is `head`. */
async function maintainerComments(h: ReturnType<typeof createHarness>, id: string, body: string, at: string, head: string, commits?: string[]) {
  const comment = example<Payload>("issue_comment", (p) => p.action === "created" && Boolean(p.installation));
  comment.issue.pull_request = { url: "https://api.github.com/repos/Codertocat/Hello-World/pulls/2" };
  comment.issue.number = 2;
  comment.comment.body = body;
  comment.comment.user.login = "maintainer";
  comment.comment.created_at = at;
  const replies: string[] = [];
  const reactions: string[] = [];
  nock(API)
    .get("/repos/Codertocat/Hello-World/collaborators/maintainer/permission")
    .reply(200, { permission: "write", role_name: "write", user: { login: "maintainer" } })
    .post(`/repos/Codertocat/Hello-World/issues/comments/${comment.comment.id}/reactions`, (b) => (reactions.push(b.content), true))
    .twice()
    .reply(201, {})
    .get("/repos/Codertocat/Hello-World/pulls/2")
    .reply(200, { state: "open", head: { sha: head, ref: "changes", repo: { full_name: "mallory/Hello-World" } } })
    .post("/repos/Codertocat/Hello-World/issues/2/comments", (b) => (replies.push(b.body), true))
    .reply(201, { id: 78 });
  if (commits) {
    nock(API)
      .get("/repos/Codertocat/Hello-World/pulls/2/commits")
      .query({ per_page: 100 })
      .reply(200, commits.map((sha) => ({ sha })));
  }
  await h.probot.receive({ id, name: "issue_comment", payload: comment } as never);
  await h.worker.idle();
  return { replies, reactions };
}


describe("/berth preview of a fork pull request", () => {
  useStrictNock();

  it("builds the fork head the maintainer saw, not one pushed while the comment waited, and waits for a new approval", async () => {
    const h = createHarness();
    mockToken(1);
    await forkHead(h, "f-10", PR_HEAD, "2019-05-15T15:20:33Z");
    await forkHead(h, "f-11", B, "2019-05-15T15:30:00Z");
    const { replies, reactions } = await maintainerComments(h, "c-10", "/berth preview", "2019-05-15T15:25:00Z", B, [PR_HEAD, B]);
    expect(h.submitted.map((s) => s.intent)).toEqual([expect.objectContaining({ kind: "deploy", sha: PR_HEAD, cause: expect.objectContaining({ fork: true }) })]);
    expect(reactions).toEqual(["eyes", "rocket"]);
    expect(replies).toEqual([
      "@maintainer building a preview of `ec26c3e`, the head when you commented (deployment `dep-1`); " +
        "`bbbbbbb`, pushed since, needs its own `/berth preview bbbbbbb`.",
    ]);
    expect(await h.state.get(approvalKey(1, "Codertocat/Hello-World", 2))).toEqual({ sha: PR_HEAD, by: "maintainer" });
    // B arrives again (a redelivery, or a push back to it): still not approved.
    await forkHead(h, "f-12", B, "2019-05-15T15:31:00Z");
    expect(h.submitted).toHaveLength(1);
  });

  it("refuses a plain /berth preview when the head the maintainer saw is gone or unknown, naming the sha to approve", async () => {
    const h = createHarness();
    mockToken(1);
    // Nothing recorded before the comment: Berth cannot tell which head was seen.
    const unknown = await maintainerComments(h, "c-11", "/berth preview", "2019-05-15T15:25:00Z", B);
    expect(unknown.reactions).toEqual(["eyes", "confused"]);
    expect(unknown.replies).toEqual([
      "@maintainer Berth does not know which commit was the head when you commented; to build the head now, `bbbbbbb`, comment `/berth preview bbbbbbb`.",
    ]);
    // The head seen was force-pushed away.
    await forkHead(h, "f-13", PR_HEAD, "2019-05-15T15:20:33Z");
    await forkHead(h, "f-14", B, "2019-05-15T15:30:00Z");
    const gone = await maintainerComments(h, "c-12", "/berth preview", "2019-05-15T15:25:00Z", B, [B]);
    expect(gone.replies).toEqual([
      "@maintainer `ec26c3e`, the head when you commented, is no longer in #2; to build the head now, `bbbbbbb`, comment `/berth preview bbbbbbb`.",
    ]);
    expect(h.submitted).toEqual([]);
  });

  it("builds exactly the commit /berth preview <sha> names, and refuses one that is not in the pull request", async () => {
    const h = createHarness();
    mockToken(1);
    const named = await maintainerComments(h, "c-13", "/berth preview ec26c3e", "2019-05-15T15:25:00Z", B, [PR_HEAD, B]);
    expect(named.replies).toEqual(["@maintainer building a preview of `ec26c3e` (deployment `dep-1`)."]);
    expect(h.submitted.map((s) => s.intent)).toEqual([expect.objectContaining({ kind: "deploy", sha: PR_HEAD })]);
    expect(await h.state.get(approvalKey(1, "Codertocat/Hello-World", 2))).toEqual({ sha: PR_HEAD, by: "maintainer" });
    const stranger = await maintainerComments(h, "c-14", "/berth preview 1234567", "2019-05-15T15:26:00Z", B, [PR_HEAD, B]);
    expect(stranger.replies).toEqual(["@maintainer `1234567` is not a commit of #2."]);
    expect(h.submitted).toHaveLength(1);
  });
});
