// The fake GitHub for tests: start one with `startFakeGitHub()`, seed it through `fake.state`, send Berth
// webhooks built by the payload helpers.
export { FakeGitHub, startFakeGitHub, openApiValidator } from "./server.js";
export type { FakeGitHubOptions, RecordedRequest, RequestPattern, ResponseProblem } from "./server.js";
export type { CheckRun, CheckSuite, Commit, CommitComment, Deployment, DeploymentStatus, Installation, IssueComment, PullRequest, Repository } from "./state.js";
export { checkSuiteEvent, commitCommentEvent, installationEvent, issueCommentEvent, pullRequestEvent, pushEvent, sendWebhook, signature } from "./webhooks.js";
export type { WebhookAnswer, WebhookDelivery } from "./webhooks.js";
