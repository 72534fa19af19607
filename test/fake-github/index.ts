// The fake GitHub for tests: start one with `startFakeGitHub()`, seed it through `fake.state`, send Berth
// webhooks built by the payload helpers.
export { FakeGitHub, startFakeGitHub } from "./server.js";
export type { Commit, Deployment, PullRequest } from "./state.js";
export { checkSuiteEvent, commitCommentEvent, issueCommentEvent, pullRequestEvent, pushEvent, sendWebhook, signature } from "./webhooks.js";
