// A job (PRE_DEPLOY, POST_DEPLOY, FAILED_DEPLOY) runs once as a container of the new image with its RUN_TIME
// envs: output streamed line by line, a timeout (SIGTERM, grace period, SIGKILL), always removed afterwards.
// A non-zero exit is a result, not an exception: the pipeline decides what it means for the deploy.
import { randomBytes } from "node:crypto";
import type Dockerode from "dockerode";
import type { JobRequest, JobResult } from "../runtime.js";
import { RuntimeError } from "../runtime.js";
import type { MetadataSink } from "./metadata-sink.js";
import { containerSpecFor, type NetworkMode } from "./container-spec.js";
import { followOutput, removeContainer } from "./engine.js";
import { dockerName } from "./labels.js";
import { createRedactor } from "../../core/redact.js";
import { redactedLines, Tail } from "./lines.js";

export interface JobOptions {
  docker: Dockerode;
  network: NetworkMode;
  appNetwork?: (appId: string) => Promise<string>;
  /** Isolated mode: joins the job's container to the metadata sink before it starts. */
  sink?: MetadataSink;
  labels?: Record<string, string>;
}

export async function runJob(o: JobOptions, req: JobRequest): Promise<JobResult> {
  const redactor = createRedactor(req.secrets);
  const tail = new Tail(30);
  const name = `berth-job-${dockerName(req.appId)}-${dockerName(req.component)}-${randomBytes(4).toString("hex")}`;
  const spec = containerSpecFor({
    role: "job",
    name,
    appId: req.appId,
    component: req.component,
    deploymentId: req.deploymentId,
    image: req.image,
    runCommand: req.runCommand,
    env: req.env,
    limits: req.limits,
    network: o.network,
    appNetwork: o.network === "isolated" ? await o.appNetwork?.(req.appId) : undefined,
    labels: o.labels,
  });
  let container: Dockerode.Container;
  try {
    container = await o.docker.createContainer(spec);
  } catch (err) {
    throw new RuntimeError(`${req.component}: could not create the job container: ${redactor.redact((err as Error).message)}`, {
      component: req.component,
    });
  }
  try {
    if (o.network === "isolated") await o.sink?.attach(container);
    const stream = await container.attach({ stream: true, stdout: true, stderr: true, logs: true });
    const lines = redactedLines(redactor, (line) => {
      tail.push(line);
      req.log(line);
    });
    const output = followOutput(o.docker, stream, lines);
    const waited = container.wait({ condition: "next-exit" }) as Promise<{ StatusCode: number }>;
    await container.start();

    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), req.timeoutMs)));
    const canceled = new Promise<"canceled">((resolve) => {
      if (req.signal.aborted) resolve("canceled");
      req.signal.addEventListener("abort", () => resolve("canceled"), { once: true });
    });
    const outcome = await Promise.race([waited, limit, canceled]);
    clearTimeout(timer);
    if (outcome === "timeout" || outcome === "canceled") {
      await container.stop({ t: req.gracePeriodSeconds }).catch(() => undefined);
      await Promise.race([output, new Promise((r) => setTimeout(r, 1000))]);
      if (outcome === "canceled") throw new RuntimeError(`${req.component}: job canceled`, { component: req.component });
      throw new RuntimeError(`${req.component}: job did not finish within ${Math.round(req.timeoutMs / 1000)} s`, {
        component: req.component,
        logTail: tail.get(),
        timedOut: true,
      });
    }
    // Output can trail the exit by a moment; a stream that never ends must not hold the deploy.
    await Promise.race([output, new Promise((r) => setTimeout(r, 2000))]);
    return { exitCode: outcome.StatusCode, logTail: tail.get() };
  } finally {
    await removeContainer(container);
  }
}
