#!/usr/bin/env node
// The container image's HEALTHCHECK: exit 0 when Berth's /healthz answers 2xx on its own HOST and PORT, else 1.
import { get } from "node:http";

const host = process.env.HOST;
const target = !host || host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
const req = get({ host: target, port: Number(process.env.PORT || 3000), path: "/healthz", timeout: 4000 }, (res) => {
  res.resume();
  process.exit(res.statusCode >= 200 && res.statusCode < 300 ? 0 : 1);
});
req.on("timeout", () => req.destroy());
req.on("error", () => process.exit(1));
