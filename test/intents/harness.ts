// A Probot wired to Berth's handlers with fakes for the store and the pipeline, so tests drive it with
// `probot.receive()` and real payloads and then look at what reached the pipeline and GitHub.
import nock from "nock";
import type { Probot } from "probot";
import { parseAppSpec } from "../../src/app-spec/index.js";
import { createAct } from "../../src/intents/act.js";
import { IntentError } from "../../src/core/errors.js";
import { registerHandlers } from "../../src/webhooks/index.js";
import { Inbox } from "../../src/webhooks/inbox.js";
import type { ManagedApp, PipelinePort, SpecParser } from "../../src/core/ports.js";
import { EventWorker } from "../../src/webhooks/worker.js";
import { InstallationWriteQueue } from "../../src/github/write-queue.js";
import type { AppKey, DeploymentRecord, Intent } from "../../src/core/types.js";
import { API, createTestProbot, memoryState, silentLog } from "../github/kit.js";
import { memoryInboxStore } from "../helpers/memory-inbox.js";

export const APP_ID = 1;

export function createHarness(
  options: { apps?: ManagedApp[]; deployments?: DeploymentRecord[]; refuse?: (intent: Intent) => string | undefined; maxRounds?: number } = {},
) {
  const probot: Probot = createTestProbot();
  const state = memoryState();
  const submitted: { intent: Intent; deliveryId?: string }[] = [];
  const notices: { target: unknown; text: string }[] = [];
  const removedApps: { id: string; reason: string }[] = [];
  const watched: { deploymentId: string; command: string; by: string }[] = [];
  const apps = options.apps ?? [];
  const deployments = options.deployments ?? [];
  let counter = 0;
  const pipeline: PipelinePort = {
    submit: async (intent, opts) => {
      const refusal = options.refuse?.(intent);
      if (refusal) throw new IntentError(refusal);
      submitted.push({ intent, deliveryId: opts?.deliveryId });
      counter += 1;
      return { accepted: true, deploymentId: `dep-${counter}` };
    },
    on: () => () => {},
    getDeployment: async (id) => deployments.find((d) => d.id === id),
    listDeployments: async (app: AppKey) => deployments.filter((d) => d.app.environment === app.environment),
  };
  const inbox = new Inbox(memoryInboxStore());
  const act = createAct({
    auth: (id) => probot.auth(id),
    pipeline,
    apps: {
      list: async (o) => apps.filter((a) => o?.installationId === undefined || a.key.installationId === o.installationId),
      remove: async (id, reason) => void removedApps.push({ id, reason }),
    },
    results: { watch: async (deploymentId, origin) => void watched.push({ deploymentId, command: origin.command, by: origin.by }) },
    state,
    writes: new InstallationWriteQueue(),
    parseSpec: parseAppSpec as unknown as SpecParser,
    redact: (s) => s,
    previews: { notice: (target, text) => void notices.push({ target, text }) },
    log: silentLog(),
    appId: APP_ID,
  });
  const worker = new EventWorker({ inbox, act, log: silentLog(), retryDelaysMs: [], maxRounds: options.maxRounds });
  registerHandlers(probot, {
    inbox,
    worker,
    appId: APP_ID,
  });
  return { probot, state, submitted, notices, removedApps, watched, worker, inbox };
}

export const specYaml = (repo: string, branch: string, extra = "") => `name: hello
services:
  - name: web
    source_dir: web
    github:
      repo: ${repo}
      branch: ${branch}
      deploy_on_push: true
    http_port: 8080
${extra}`;

export const contentOf = (text: string) => ({
  type: "file",
  encoding: "base64",
  size: Buffer.byteLength(text),
  content: Buffer.from(text).toString("base64"),
});

/** The spec file at `ref` (null: the repository has neither spec file there). */
export function mockSpec(repo: string, ref: string, text: string | null) {
  const scope = nock(API).get(`/repos/${repo}/contents/.do%2Fapp.yaml`).query({ ref });
  if (text !== null) return scope.reply(200, contentOf(text));
  scope.reply(404, { message: "Not Found" });
  return nock(API).get(`/repos/${repo}/contents/.do%2Fdeploy.template.yaml`).query({ ref }).reply(404, { message: "Not Found" });
}
