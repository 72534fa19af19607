// Building a component's image on the local engine (classic builder): resolve the context safely, write the
// Dockerfile (the spec's, or a generated one) and the build-env file into a staging directory in the context,
// send the context with symlinks kept as symlinks, stream the output line by line, and enforce the timeout.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type Dockerode from "dockerode";
import type { BuildRequest, BuildResult, ImageSource } from "../runtime.js";
import { RuntimeError } from "../runtime.js";
import { resolveBuildContext } from "./build-context.js";
import { buildEnvFile, detectProject, generateDockerfile, SITE_ROOT, usesBuildEnv, type BaseImages } from "./dockerfile.js";
import { imageTag, LABEL } from "./labels.js";
import { createRedactor } from "../../core/redact.js";
import { redactedLines, Tail } from "./lines.js";

export interface BuildOptions {
  docker: Dockerode;
  images: BaseImages;
  timeoutMs: number;
  /**
   * The network mode a build of the app runs with: `host`, or (isolated mode) the namespace of a holder on the
   * app's build network and the metadata sink; released when the build ends.
   */
  network: (appId: string) => Promise<{ mode: string; release(): Promise<void> }>;
  /** Extra labels on every image (tests use them for cleanup). */
  labels?: Record<string, string>;
}

function buildNetns(opts: BuildOptions, req: BuildRequest): Promise<{ mode: string; release(): Promise<void> }> {
  return opts.network(req.appId).catch((err: Error) => {
    throw new RuntimeError(`${req.component}: could not prepare the build's network: ${err.message}`, { component: req.component });
  });
}

/** `image:` sources as a reference the engine understands. */
export function imageReference(src: ImageSource): string {
  const registry =
    src.registryType === "DOCKER_HUB"
      ? src.registry
        ? `docker.io/${src.registry}/`
        : "docker.io/"
      : src.registryType === "GHCR"
        ? `ghcr.io/${src.registry ? `${src.registry}/` : ""}`
        : src.registryType === "DOCR"
          ? `registry.digitalocean.com/${src.registry ? `${src.registry}/` : ""}`
          : src.registry
            ? `${src.registry}/`
            : "";
  const suffix = src.digest ? `@${src.digest}` : `:${src.tag ?? "latest"}`;
  return `${registry}${src.repository}${suffix}`;
}

async function ensureImage(docker: Dockerode, ref: string, req: BuildRequest): Promise<BuildResult> {
  try {
    await docker.getImage(ref).inspect();
    req.log(`using local image ${ref}`);
    return { image: ref };
  } catch {
    // not present: pull below
  }
  req.log(`pulling ${ref}`);
  try {
    const stream = await docker.pull(ref, { abortSignal: req.signal });
    await new Promise<void>((resolve, reject) =>
      docker.modem.followProgress(
        stream,
        (err, output: { error?: string }[] = []) => {
          const failed = err ?? output.find((e) => e.error)?.error;
          if (failed) reject(failed instanceof Error ? failed : new Error(failed));
          else resolve();
        },
      ),
    );
  } catch (err) {
    throw new RuntimeError(`${req.component}: could not pull image ${ref}: ${(err as Error).message}`, {
      component: req.component,
    });
  }
  return { image: ref };
}

function stagingDirName(component: string): string {
  return `.berth-build-${component}`;
}

export async function buildImage(opts: BuildOptions, req: BuildRequest): Promise<BuildResult> {
  if (req.image) return ensureImage(opts.docker, imageReference(req.image), req);
  const redactor = createRedactor(req.secrets);
  const { contextDir, dockerfile } = resolveBuildContext(req.sourceRoot, req.component, req.sourceDir, req.dockerfilePath);
  const staging = stagingDirName(req.component);
  const stagingPath = join(contextDir, staging);
  const buildargs: Record<string, string> = {};
  const labels: Record<string, string> = {
    ...opts.labels,
    [LABEL.managed]: "true",
    [LABEL.app]: req.appId,
    [LABEL.component]: req.component,
    [LABEL.deployment]: req.deploymentId,
  };

  let dockerfileText = "";

  rmSync(stagingPath, { recursive: true, force: true });
  mkdirSync(stagingPath, { mode: 0o700 });
  // A .dockerignore written for the app (`.*`, say) must not drop Berth's staging directory from the context.
  const ignoreFile = join(contextDir, ".dockerignore");
  const ignoreText = existsSync(ignoreFile) ? readFileSync(ignoreFile, "utf8") : undefined;
  if (ignoreText !== undefined) writeFileSync(ignoreFile, `${ignoreText}\n!${staging}\n!${staging}/**\n`);
  let netns: { mode: string; release(): Promise<void> } | undefined;
  try {
    if (dockerfile) {
      dockerfileText = readFileSync(dockerfile, "utf8");
      const secretValues = new Set(req.secrets);
      const withheld: string[] = [];
      for (const [k, v] of Object.entries(req.buildEnv)) {
        if (secretValues.has(v)) withheld.push(k);
        else buildargs[k] = v;
      }
      if (withheld.length) {
        req.log(
          `not passing ${withheld.join(", ")} as build args: the engine's builder records build args in image history; ` +
            `builds without dockerfile_path receive secrets safely`,
        );
      }
      if (req.kind === "static_site") labels[LABEL.siteOutput] = req.outputDir ?? "/app/dist";
    } else {
      const facts = detectProject(contextDir, req.kind, req.component);
      const text = generateDockerfile(facts, {
        component: req.component,
        kind: req.kind,
        images: opts.images,
        stagingDir: staging,
        buildCommand: req.buildCommand,
        runCommand: req.runCommand,
        outputDir: req.outputDir,
      });
      dockerfileText = text;
      if (usesBuildEnv(facts)) writeFileSync(join(stagingPath, "build-env"), buildEnvFile(req.buildEnv), { mode: 0o600 });
      if (req.kind === "static_site") labels[LABEL.siteOutput] = SITE_ROOT;
      req.log(`no dockerfile_path: generated a ${facts.language} build${facts.decidedBy ? ` (${facts.decidedBy} found)` : ""}`);
    }

    if (req.kind === "static_site") {
      labels[LABEL.siteIndex] = req.indexDocument ?? "index.html";
      if (req.errorDocument) labels[LABEL.siteError] = req.errorDocument;
      if (req.catchallDocument) labels[LABEL.siteCatchall] = req.catchallDocument;
    }
    // The classic builder turns each `labels` query entry into its own step (a container each); one LABEL
    // line appended to the last stage costs one.
    const labelLine = `LABEL ${Object.entries(labels).map(([k, v]) => `${JSON.stringify(k)}=${JSON.stringify(v)}`).join(" ")}`;
    writeFileSync(join(stagingPath, "Dockerfile"), `${dockerfileText.replace(/\n*$/, "\n")}${labelLine}\n`);
    const tag = imageTag(req.appId, req.component, req.deploymentId);
    const timeout = AbortSignal.timeout(opts.timeoutMs);
    const signal = AbortSignal.any([req.signal, timeout]);
    const tail = new Tail(30);
    let failure: string | undefined;
    const lines = redactedLines(redactor, (line) => {
      tail.push(line);
      req.log(line);
    });
    netns = await buildNetns(opts, req);
    try {
      const stream = await opts.docker.buildImage(
        { context: contextDir, src: readdirSync(contextDir) },
        {
          t: tag,
          dockerfile: `${staging}/Dockerfile`,
          nocache: req.noCache,
          buildargs,
          networkmode: netns.mode,
          rm: true,
          forcerm: true,
          abortSignal: signal,
        } as Dockerode.ImageBuildOptions,
      );
      await new Promise<void>((resolve, reject) => {
        opts.docker.modem.followProgress(
          stream,
          (err) => (err ? reject(err) : resolve()),
          (event: { stream?: string; error?: string; status?: string }) => {
            if (event.stream) lines.push(event.stream);
            if (event.status) lines.push(`${event.status}\n`);
            if (event.error) failure = event.error;
          },
        );
      });
    } catch (err) {
      lines.flush();
      if (timeout.aborted) {
        throw new RuntimeError(
          `${req.component}: build timed out after ${Math.round(opts.timeoutMs / 1000)} s (BERTH_BUILD_TIMEOUT)`,
          { component: req.component, logTail: tail.get(), timedOut: true },
        );
      }
      if (req.signal.aborted) throw new RuntimeError(`${req.component}: build canceled`, { component: req.component });
      failure ??= (err as Error).message;
    }
    lines.flush();
    if (failure !== undefined) {
      throw new RuntimeError(`${req.component}: build failed: ${redactor.redact(failure.trim())}`, {
        component: req.component,
        logTail: tail.get(),
      });
    }
    return { image: tag };
  } finally {
    await netns?.release();
    rmSync(stagingPath, { recursive: true, force: true });
    if (ignoreText !== undefined) writeFileSync(ignoreFile, ignoreText);
  }
}
