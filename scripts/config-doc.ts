// Writes docs/configuration.md and .env.example from the environment schema: `npm run docs:config`.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { renderConfigDoc, renderEnvExample } from "../src/config-doc.js";

writeFileSync(fileURLToPath(new URL("../docs/configuration.md", import.meta.url)), renderConfigDoc());
writeFileSync(fileURLToPath(new URL("../.env.example", import.meta.url)), renderEnvExample());
