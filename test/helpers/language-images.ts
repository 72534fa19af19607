// Base images for Python and Go builds, made from Debian's packages on this machine (no registry to pull
// from), as docker-images.ts makes the Node one. `berth-test/python` is Debian's Python 3 with the packages
// the Debian archive ships (Flask, gunicorn, pip's wheels for venv), `berth-test/go` Debian's Go toolchain.
// Built once per machine; later calls only inspect.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addBusybox, imageExists, TEST_LABEL, withLock } from "./docker-images.js";

export const TEST_PYTHON_IMAGE = "berth-test/python:latest";
export const TEST_GO_IMAGE = "berth-test/go:latest";

const PYTHON = "/usr/bin/python3";
const GO_ROOT = readdirSync("/usr/lib").filter((d) => /^go-\d/.test(d)).sort().pop();

/** Why the image cannot be made here, or undefined when it can. */
export function pythonImageUnavailable(): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} absent (apt-get install python3)`;
  const probe = spawnSync(PYTHON, ["-c", "import flask, gunicorn, ensurepip"], { stdio: "pipe" });
  return probe.status === 0 ? undefined : "Debian's Flask, gunicorn or venv absent (apt-get install python3-flask gunicorn python3-venv)";
}

export function goImageUnavailable(): string | undefined {
  return GO_ROOT ? undefined : "no Go toolchain in /usr/lib/go-* (apt-get install golang-go)";
}

/** Copies host paths (files, directories, symlinks as they are) into `root` at the same place. */
function addHostPaths(root: string, paths: string[], exclude: string[] = [], dereference = false): void {
  const present = paths.filter((p) => existsSync(p));
  execFileSync("sh", ["-c", `tar -C / -c ${dereference ? "-h " : ""}${exclude.map((e) => `--exclude='${e}'`).join(" ")} "$@" | tar -C "${root}" -x`, "tar", ...present.map((p) => p.replace(/^\//, ""))], {
    stdio: "pipe",
    maxBuffer: 1 << 26,
  });
}

/** Every shared library the given ELF files link against, with the dynamic loader. */
function librariesOf(files: string[]): string[] {
  const libs = new Set<string>();
  for (const file of files) {
    const out = spawnSync("ldd", [file], { stdio: "pipe" }).stdout?.toString() ?? "";
    for (const line of out.split("\n")) {
      const lib = /(\/\S+)\s+\(0x/.exec(line)?.[1];
      if (lib) libs.add(lib);
    }
  }
  return [...libs];
}

function sharedObjects(dirs: string[]): string[] {
  const out = execFileSync("find", [...dirs.filter((d) => existsSync(d)), "-name", "*.so*", "-type", "f"], { stdio: "pipe" }).toString();
  return out.split("\n").filter(Boolean);
}

function importRoot(ref: string, env: string[], fill: (root: string) => void): void {
  const root = mkdtempSync(join(tmpdir(), "berth-image-"));
  try {
    fill(root);
    const changes = [...env.flatMap((e) => ["-c", `ENV ${e}`]), "-c", `LABEL ${TEST_LABEL}.base=true`];
    execFileSync("sh", ["-c", `tar -C "${root}" -c . | docker import ${changes.map((c) => `'${c}'`).join(" ")} - ${ref}`], {
      stdio: "pipe",
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function makePython(): void {
  const version = execFileSync(PYTHON, ["-c", "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"]).toString().trim();
  const stdlib = `/usr/lib/python${version}`;
  const dirs = [stdlib, "/usr/lib/python3/dist-packages"];
  importRoot(TEST_PYTHON_IMAGE, ["PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"], (root) => {
    addBusybox(root);
    addHostPaths(root, [PYTHON, `/usr/bin/python${version}`, "/usr/bin/gunicorn", ...dirs, "/usr/share/python-wheels"], [`python${version}/test`]);
    // Libraries by content: the loader and some libraries are symlinks on the host.
    addHostPaths(root, librariesOf([`/usr/bin/python${version}`, ...sharedObjects(dirs)]), [], true);
    mkdirSync(join(root, "usr/local/bin"), { recursive: true });
    // The official images call it `python`; Debian's is `python3`.
    symlinkSync("/usr/bin/python3", join(root, "usr/local/bin/python"));
  });
}

function makeGo(): void {
  const goRoot = `/usr/lib/${GO_ROOT}`;
  const share = `/usr/share/${GO_ROOT}`;
  const env = [
    `PATH=${goRoot}/bin:/usr/local/bin:/bin`,
    // No module proxy here: a module with requirements must vendor them.
    "GOPROXY=off",
    "GOFLAGS=-mod=mod",
    "CGO_ENABLED=0",
    "GOCACHE=/tmp/go-cache",
    "GOPATH=/tmp/go",
  ];
  importRoot(TEST_GO_IMAGE, env, (root) => {
    addBusybox(root);
    addHostPaths(root, [goRoot, share], [`${GO_ROOT}/test`, `${GO_ROOT}/misc`, `${GO_ROOT}/api`]);
    addHostPaths(root, librariesOf([`${goRoot}/bin/go`]), [], true);
  });
}

export function ensurePythonImage(): string {
  if (!imageExists(TEST_PYTHON_IMAGE)) withLock(() => imageExists(TEST_PYTHON_IMAGE) || makePython());
  return TEST_PYTHON_IMAGE;
}

export function ensureGoImage(): string {
  if (!imageExists(TEST_GO_IMAGE)) withLock(() => imageExists(TEST_GO_IMAGE) || makeGo());
  return TEST_GO_IMAGE;
}
