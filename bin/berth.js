#!/usr/bin/env node
// The `berth` command. Runs the TypeScript sources through tsx so `npx berth` works in a checkout;
// the container image runs the compiled dist/ instead.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const compiled = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
if (existsSync(compiled)) {
  await import(compiled);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/cli/main.ts");
}
