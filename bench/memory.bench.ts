// Memory of Berth's whole process tree (what `npm start` leaves running: npm, Berth's process, the router
// workers) as VmRSS summed over the tree, against a bare Probot app (probot's Server, one push handler) on the
// same Node in the same run. Three points: idle 20 s after /readyz (Docker runtime), with 10 small apps
// deployed (real containers, which are the engine's children, not Berth's), and after 1,000 webhook deliveries
// and 100 deployments (the memory runtime, so the phase takes seconds rather than minutes of image builds).
// BENCH_DATABASE_URL runs Berth on that PostgreSQL instead of the embedded store; BERTH_ROUTER_WORKERS is passed on.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ensureTestImages } from "../test/helpers/docker-images.js";
import { dockerUnavailable } from "../test/helpers/services.js";
import { processTree, type ProcessRss } from "./process-tree.js";
import { pushEvent, sendWebhook, startFakeGitHub, type FakeGitHub } from "../test/fake-github/index.js";
import { BerthProcess, DockerJanitor, freePort, httpGet, testRepositoryFiles, uniqueName, WEBHOOK_PATH } from "../test/e2e/harness.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SECRET = "bench-memory-secret";
const APPS = 10;
const DELIVERIES = 1_000;
const DEPLOYMENTS = 100;
const IDLE_MS = 20_000;
/** After deploys or deliveries, before sampling: lets the last reporter writes and timers run out. */
const SETTLE_MS = 5_000;
const FINAL = ["success", "failure", "error"];

interface Sample {
  label: string;
  tree: ProcessRss[];
}

const samples: Sample[] = [];
function sample(label: string, root: number): void {
  const tree = processTree(root);
  samples.push({ label, tree });
  progress(`${label}: ${tree.map((p) => `${p.role} ${mb(p.rssKb)}`).join(", ")}`);
}

const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;

function report(): void {
  const roles = [...new Set(samples.flatMap((s) => s.tree.map((p) => p.role)))];
  const width = Math.max(...samples.map((s) => s.label.length));
  // What `node dist/main.js` (the container, a systemd unit) leaves running: the tree without npm, sh and tsx.
  const launcher = new Set(["npm", "sh", "tsx"]);
  console.log(`\n${"".padEnd(width)}  ${roles.map((r) => r.padStart(14)).join("")}${"total".padStart(10)}${"without npm".padStart(13)}`);
  for (const s of samples) {
    const cells = roles.map((role) => {
      const of = s.tree.filter((p) => p.role === role);
      const text = of.length === 0 ? "-" : `${of.length > 1 ? `${of.length}× ` : ""}${mb(of.reduce((n, p) => n + p.rssKb, 0))}`;
      return text.padStart(14);
    });
    const total = mb(s.tree.reduce((n, p) => n + p.rssKb, 0));
    const own = mb(s.tree.filter((p) => !launcher.has(p.role)).reduce((n, p) => n + p.rssKb, 0));
    console.log(`${s.label.padEnd(width)}  ${cells.join("")}${total.padStart(10)}${own.padStart(13)}`);
  }
}

const started = Date.now();
/** Progress on stderr, so a slow phase shows where it is. */
const progress = (text: string) => console.error(`[memory bench +${((Date.now() - started) / 1000).toFixed(0)} s] ${text}`);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function untilAnswers(port: number, path: string, status: number, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reply = await httpGet(port, "127.0.0.1", path).catch(() => undefined);
    if (reply?.status === status) return;
    if (Date.now() > deadline) throw new Error(`${what} did not answer ${path} with ${status} within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** A bare Probot app: probot's Server with one push handler that does nothing, as `probot run` would build it. */
const BARE_PROBOT = `
import { Probot, Server } from "probot";
const server = new Server({
  Probot: Probot.defaults({ appId: process.env.APP_ID, privateKey: process.env.PRIVATE_KEY, secret: process.env.WEBHOOK_SECRET }),
  host: "127.0.0.1",
  port: Number(process.env.PORT),
});
await server.load((app) => { app.on("push", async () => {}); });
await server.start();
`;

async function startBareProbot(fake: FakeGitHub): Promise<{ child: ChildProcess; port: number; stop(): Promise<void> }> {
  const port = await freePort();
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", APP_ID: String(fake.appId), PRIVATE_KEY: fake.privateKey, WEBHOOK_SECRET: SECRET, PORT: String(port), LOG_LEVEL: "warn" };
  const child = spawn(process.execPath, ["--input-type=module", "-e", BARE_PROBOT], { cwd: ROOT, env, stdio: ["ignore", "ignore", "inherit"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await untilAnswers(port, "/ping", 200, "bare Probot");
  return {
    child,
    port,
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

function berthEnv(runtime: "docker" | "memory"): Record<string, string> {
  return {
    BERTH_RUNTIME: runtime,
    LOG_LEVEL: "info",
    ...(process.env.BENCH_DATABASE_URL ? { DATABASE_URL: process.env.BENCH_DATABASE_URL } : {}),
    ...(process.env.BERTH_ROUTER_WORKERS ? { BERTH_ROUTER_WORKERS: process.env.BERTH_ROUTER_WORKERS } : {}),
  };
}

function rootPid(berth: BerthProcess): number {
  if (berth.pid === undefined) throw new Error("Berth has no pid");
  return berth.pid;
}

/** Pushes a new version of `repository` and resolves with its deployment's final state on GitHub. */
async function deploy(fake: FakeGitHub, berth: BerthProcess, repository: string, version: string, baseImage: string): Promise<string> {
  const name = repository.split("/")[1]!;
  const commit = fake.state.push(repository, "main", testRepositoryFiles(name, repository, version, baseImage));
  const answer = await sendWebhook(berth.webhookUrl, { event: "push", payload: pushEvent(fake, repository, "main", commit), secret: SECRET });
  if (answer.status >= 300) throw new Error(`push to ${repository} answered ${answer.status}`);
  const deployment = await fake.until(
    () => fake.state.deployments.find((d) => d.sha === commit.sha && FINAL.includes(d.statuses.at(-1)?.state ?? "")),
    `a final deployment status for ${repository}@${commit.sha.slice(0, 7)}`,
    180_000,
  );
  return deployment.statuses.at(-1)!.state;
}

/** `count` pushes to a branch nobody deploys: each is verified, recorded and read by the worker, then ignored. */
function noise(fake: FakeGitHub, repository: string, count: number): Array<{ event: string; payload: unknown }> {
  return Array.from({ length: count }, (_, i) => {
    const commit = fake.state.push(repository, "noise", { "notes.txt": `change ${i}\n` });
    return { event: "push", payload: pushEvent(fake, repository, "noise", commit) };
  });
}

async function deliver(url: string, deliveries: Array<{ event: string; payload: unknown }>): Promise<void> {
  for (const [i, d] of deliveries.entries()) {
    const answer = await sendWebhook(url, { ...d, secret: SECRET });
    if (answer.status >= 300) throw new Error(`delivery to ${url} answered ${answer.status}: ${answer.body}`);
    if ((i + 1) % 100 === 0) progress(`${i + 1} deliveries to ${url}`);
  }
}

async function dockerPhases(fake: FakeGitHub, repositories: string[], baseImage: string, probot: { child: ChildProcess }, janitors: DockerJanitor[]): Promise<void> {
  const berth = await BerthProcess.start(fake, { webhookSecret: SECRET, env: berthEnv("docker"), listenTimeoutMs: 180_000 });
  try {
    await untilAnswers(berth.port, "/readyz", 200, "Berth");
    progress("Berth (Docker runtime) ready");
    await sleep(IDLE_MS);
    sample("Berth idle (Docker runtime)", rootPid(berth));
    sample("bare Probot idle", probot.child.pid!);

    const states = await Promise.all(repositories.map((r) => deploy(fake, berth, r, "v1", baseImage)));
    for (const j of janitors) j.note();
    progress(`${APPS} apps deployed`);
    if (states.some((s) => s !== "success")) throw new Error(`10-app deploys ended ${states.join(", ")}`);
    await sleep(SETTLE_MS);
    sample(`Berth, ${APPS} apps deployed (Docker)`, rootPid(berth));
  } finally {
    await berth.stop();
  }
}

async function trafficPhase(fake: FakeGitHub, repositories: string[], noiseRepository: string, baseImage: string, probot: { port: number; child: ChildProcess }): Promise<void> {
  const berth = await BerthProcess.start(fake, { webhookSecret: SECRET, env: berthEnv("memory"), listenTimeoutMs: 180_000 });
  try {
    await untilAnswers(berth.port, "/readyz", 200, "Berth");
    progress("Berth (memory runtime) ready");
    const noiseDeliveries = noise(fake, noiseRepository, DELIVERIES - DEPLOYMENTS);
    const perApp = DEPLOYMENTS / repositories.length;
    let deployed = 0;
    const deploys = Promise.all(
      repositories.map(async (repository) => {
        const states: string[] = [];
        for (let i = 0; i < perApp; i++) {
          states.push(await deploy(fake, berth, repository, `v${i + 2}`, baseImage));
          if (++deployed % 10 === 0) progress(`${deployed} deployments`);
        }
        return states;
      }),
    );
    await deliver(berth.webhookUrl, noiseDeliveries);
    const states = (await deploys).flat();
    const succeeded = states.filter((s) => s === "success").length;
    // Still measured: the memory after the traffic is the point; the count says what the traffic was.
    if (succeeded !== DEPLOYMENTS) {
      progress(`only ${succeeded} of ${DEPLOYMENTS} deployments succeeded; Berth's errors:\n${berth.logLines('"level":50').slice(-5).join("\n")}`);
    }
    await sleep(SETTLE_MS);
    sample(`Berth after ${DELIVERIES} deliveries, ${DEPLOYMENTS} deploys (memory runtime)`, rootPid(berth));

    await deliver(`http://127.0.0.1:${probot.port}${WEBHOOK_PATH}`, noise(fake, noiseRepository, DELIVERIES));
    await sleep(SETTLE_MS);
    sample(`bare Probot after ${DELIVERIES} deliveries`, probot.child.pid!);
  } finally {
    await berth.stop();
  }
}

async function main(): Promise<void> {
  const reason = dockerUnavailable();
  if (reason) {
    console.log(`memory bench skipped: ${reason}`);
    return;
  }
  const baseImage = ensureTestImages().node;
  const fake = await startFakeGitHub({ checkResponses: false });
  const names = Array.from({ length: APPS }, () => uniqueName("bench-mem"));
  const noiseName = uniqueName("bench-mem-noise");
  // One installation per app, as for apps of different owners: GitHub writes are queued per installation.
  const owners = names.map((_, i) => `acme${i}`);
  const repositories = names.map((n, i) => `${owners[i]}/${n}`);
  const janitors = names.map((n) => new DockerJanitor(n));
  names.forEach((name, i) => {
    fake.state.addRepository({ owner: owners[i]!, name, files: testRepositoryFiles(name, repositories[i]!, "v0", baseImage) });
    fake.state.addInstallation(owners[i]!, [repositories[i]!]);
  });
  fake.state.addRepository({ owner: "acme-noise", name: noiseName, files: testRepositoryFiles(noiseName, `acme-noise/${noiseName}`, "v0", baseImage) });
  fake.state.addInstallation("acme-noise", [`acme-noise/${noiseName}`]);
  const probot = await startBareProbot(fake);
  try {
    await dockerPhases(fake, repositories, baseImage, probot, janitors);
    await trafficPhase(fake, repositories, `acme-noise/${noiseName}`, baseImage, probot);
  } finally {
    await probot.stop();
    for (const j of janitors) j.cleanup();
    await fake.close();
  }
  const store = process.env.BENCH_DATABASE_URL ? "PostgreSQL (BENCH_DATABASE_URL)" : "embedded default";
  console.log(`\nVmRSS summed over each process tree; store: ${store}; router workers: ${process.env.BERTH_ROUTER_WORKERS ?? "default"}`);
  report();
}

await main();
