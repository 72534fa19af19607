#!/usr/bin/env node
// Compiles src/ to dist/ with tsc (tsconfig.build.json). `--if-stale` builds only when dist/ is missing or older
// than a source or tsconfig file, so `npm start` costs a few milliseconds when nothing changed. The output is
// written next to dist/ and swapped in whole, under a lock, so two starts at once build once and a running
// Berth never reads a half-written tree. Without src/ (Berth's container image) dist/ is taken as it is.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const dist = join(root, "dist");
const stamp = join(dist, ".build-stamp");
const lock = join(root, ".dist-build.lock");
/** A lock older than this was left by a build that died. */
const STALE_LOCK_MS = 5 * 60_000;

function newestInput() {
  let newest = 0;
  const visit = (path) => {
    const stat = statSync(path);
    if (stat.isDirectory()) for (const entry of readdirSync(path)) visit(join(path, entry));
    else newest = Math.max(newest, stat.mtimeMs);
  };
  visit(join(root, "src"));
  for (const file of ["tsconfig.json", "tsconfig.build.json"]) visit(join(root, file));
  return newest;
}

/** Whether dist/ is missing or older than the sources (never, where there are no sources). */
export function stale() {
  if (!existsSync(join(root, "src"))) return false;
  if (!existsSync(stamp)) return true;
  return newestInput() > statSync(stamp).mtimeMs;
}

function tscPath() {
  try {
    return createRequire(join(root, "package.json")).resolve("typescript/bin/tsc");
  } catch {
    console.error("dist/ is missing or older than src/, and TypeScript is not installed: run `npm ci` (it installs the dev dependencies too).");
    process.exit(1);
  }
}

function build() {
  const started = new Date();
  const out = join(root, `.dist-${process.pid}`);
  try {
    execFileSync(process.execPath, [tscPath(), "-p", join(root, "tsconfig.build.json"), "--outDir", out], { stdio: "inherit" });
  } catch {
    rmSync(out, { recursive: true, force: true });
    console.error("Berth could not be compiled (tsc failed above).");
    process.exit(1);
  }
  // Stamped with the time the build began: a file edited while tsc ran makes the next start build again.
  writeFileSync(join(out, ".build-stamp"), "");
  utimesSync(join(out, ".build-stamp"), started, started);
  const old = join(root, `.dist-old-${process.pid}`);
  if (existsSync(dist)) renameSync(dist, old);
  renameSync(out, dist);
  rmSync(old, { recursive: true, force: true });
}

function acquire() {
  for (;;) {
    try {
      mkdirSync(lock);
      return;
    } catch (err) {
      if (err.code !== "EEXIST") throw err;
      if (Date.now() - statSync(lock, { throwIfNoEntry: false })?.mtimeMs > STALE_LOCK_MS) rmSync(lock, { recursive: true, force: true });
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
  }
}

function main() {
  const ifStale = process.argv.includes("--if-stale");
  if (!ifStale || stale()) {
    acquire();
    try {
      // Another start may have built while this one waited for the lock.
      if (!ifStale || stale()) build();
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
  if (!existsSync(join(dist, "main.js"))) {
    console.error("dist/main.js is missing: run `npm run build`.");
    process.exit(1);
  }
}

// Run as a script (`node bin/build.js`), not when bin/berth.js imports `stale`.
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) main();
