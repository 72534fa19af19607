import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Docker and PostgreSQL tests share one engine and one server; files run in parallel, tests in a file serially.
    pool: "forks",
  },
});
