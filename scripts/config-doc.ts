// Writes docs/configuration.md from the environment schema: `npm run docs:config`.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { renderConfigDoc } from "../src/config-doc.js";

writeFileSync(fileURLToPath(new URL("../docs/configuration.md", import.meta.url)), renderConfigDoc());
