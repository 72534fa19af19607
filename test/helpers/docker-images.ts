// Base images for Docker tests, made from files already on this machine (there is no registry to pull from):
// `berth-test/busybox` is Debian's busybox-static with its applet links, `berth-test/node` adds the host's node
// binary and the shared libraries it links. Built once per machine; later calls only inspect.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export const TEST_BUSYBOX_IMAGE = "berth-test/busybox:latest";
export const TEST_NODE_IMAGE = "berth-test/node:latest";

/** Label on every container and image Docker tests create, so cleanup can find them. */
export const TEST_LABEL = "berth.test";

const BUSYBOX = "/bin/busybox";

function docker(args: string[], input?: Buffer): string {
  return execFileSync("docker", args, { input, stdio: input ? ["pipe", "pipe", "pipe"] : "pipe" }).toString();
}

export function imageExists(ref: string): boolean {
  try {
    docker(["image", "inspect", "--format", "{{.Id}}", ref]);
    return true;
  } catch {
    return false;
  }
}

export function addBusybox(root: string): void {
  mkdirSync(join(root, "bin"), { recursive: true });
  copyFileSync(BUSYBOX, join(root, "bin/busybox"));
  chmodSync(join(root, "bin/busybox"), 0o755);
  const applets = execFileSync(BUSYBOX, ["--list"]).toString().split("\n").filter(Boolean);
  for (const applet of applets) {
    if (applet === "busybox") continue;
    symlinkSync("busybox", join(root, "bin", applet));
  }
  for (const dir of ["tmp", "etc", "app"]) mkdirSync(join(root, dir), { recursive: true });
  chmodSync(join(root, "tmp"), 0o1777);
}

function addNode(root: string): void {
  const node = process.execPath;
  mkdirSync(join(root, "usr/local/bin"), { recursive: true });
  copyFileSync(node, join(root, "usr/local/bin/node"));
  chmodSync(join(root, "usr/local/bin/node"), 0o755);
  const libs = execFileSync("ldd", [node])
    .toString()
    .split("\n")
    .map((line) => /(\/\S+)\s+\(0x/.exec(line)?.[1])
    .filter((p): p is string => p !== undefined);
  for (const lib of libs) {
    mkdirSync(join(root, dirname(lib)), { recursive: true });
    copyFileSync(lib, join(root, lib));
  }
}

function importImage(ref: string, fill: (root: string) => void): void {
  const root = mkdtempSync(join(tmpdir(), "berth-image-"));
  try {
    fill(root);
    const tarball = execFileSync("tar", ["-C", root, "-c", "."], { maxBuffer: 1 << 30 });
    docker(
      ["import", "-c", "ENV PATH=/usr/local/bin:/bin", "-c", `LABEL ${TEST_LABEL}.base=true`, "-", ref],
      tarball,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

export function withLock<T>(fn: () => T): T {
  const lock = join(tmpdir(), "berth-test-images.lock");
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`could not take ${lock}; remove it if no test run is active`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Make sure both test base images exist (idempotent, safe across parallel test files). */
export function ensureTestImages(): { busybox: string; node: string } {
  if (!imageExists(TEST_BUSYBOX_IMAGE) || !imageExists(TEST_NODE_IMAGE)) {
    withLock(() => {
      if (!imageExists(TEST_BUSYBOX_IMAGE)) importImage(TEST_BUSYBOX_IMAGE, addBusybox);
      if (!imageExists(TEST_NODE_IMAGE))
        importImage(TEST_NODE_IMAGE, (root) => {
          addBusybox(root);
          addNode(root);
        });
    });
  }
  return { busybox: TEST_BUSYBOX_IMAGE, node: TEST_NODE_IMAGE };
}

/** Remove every container and non-base image carrying `label` (e.g. `berth.test.run=<id>`). */
export function removeLabelled(label: string): void {
  const containers = docker(["ps", "-aq", "--filter", `label=${label}`]).split("\n").filter(Boolean);
  if (containers.length) docker(["rm", "-f", "-v", ...containers]);
  const images = [...new Set(docker(["images", "-q", "--filter", `label=${label}`]).split("\n").filter(Boolean))];
  if (images.length) {
    try {
      docker(["rmi", "-f", ...images]);
    } catch {
      // An image another test still uses is removed by that test's own cleanup.
    }
  }
}

/** Image ids a classic-builder log names (`---> 1a2b3c4d5e6f`): the intermediate layers a test build made. */
export function layerIdsIn(lines: readonly string[]): string[] {
  return lines.map((l) => /^\s*---> ([0-9a-f]{12})$/.exec(l)?.[1]).filter((id): id is string => id !== undefined);
}

/**
 * Remove intermediate images newest first without force: one another build still uses (a child or a running
 * container) is refused by the engine and stays, so parallel test files cannot break each other.
 */
export function removeLayers(ids: readonly string[]): void {
  // Every base image (busybox, node, python, go): a build's log names its FROM image's id too.
  const bases = docker(["images", "-q", "--no-trunc", "--filter", `label=${TEST_LABEL}.base=true`])
    .split("\n")
    .filter(Boolean)
    .map((id) => id.replace(/^sha256:/, ""));
  for (const id of [...new Set(ids)].reverse()) {
    if (bases.some((b) => b.startsWith(id))) continue;
    try {
      docker(["rmi", id]);
    } catch {
      // in use by another image or test; see above
    }
  }
}
