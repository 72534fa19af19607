#!/usr/bin/env node
// The `berth` command. Runs the compiled dist/ when it is up to date with src/ (always, where there is no src/:
// the container image, an installed package), else the TypeScript sources through tsx, so `npx berth` in a
// checkout never runs code older than its sources.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { stale } from "./build.js";

const compiled = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
if (existsSync(compiled) && !stale()) {
  await import(compiled);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/cli/main.ts");
}
