// The walls between Berth's rooms (docs/architecture.md, "Rules of the house"), checked in `npm test`.
// Dependencies point one way: intake (webhooks, intents) → pipeline → runtime contract; reporters hear pipeline
// events; core is the floor everyone stands on and stands on nothing.
const IO = "^(node:)?(fs|fs/promises|net|http|https|http2|child_process|dgram|cluster|worker_threads)$";

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "An import cycle ties modules into one; only a cycle of type-only imports inside one room is harmless.",
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ["type-only"] } },
    },
    {
      name: "core-stands-alone",
      severity: "error",
      comment: "src/core holds contracts only: no I/O and no other room.",
      from: { path: "^src/core/" },
      to: { pathNot: "^src/core/", dependencyTypesNot: ["type-only"] },
    },
    {
      name: "core-imports-no-room-types",
      severity: "error",
      comment: "Even types: the contracts must not depend on a room's internals.",
      from: { path: "^src/core/" },
      to: { path: "^src/", pathNot: "^src/core/" },
    },
    {
      name: "pure-rooms-do-no-io",
      severity: "error",
      comment: "src/core and src/app-spec are pure: text in, values out.",
      from: { path: "^src/(core|app-spec)/" },
      to: { dependencyTypes: ["core"], path: IO },
    },
    {
      name: "app-spec-is-pure",
      severity: "error",
      comment: "The spec engine reads text and knows no other room but core.",
      from: { path: "^src/app-spec/" },
      to: { path: "^src/", pathNot: "^src/(app-spec|core)/" },
    },
    {
      name: "pipeline-knows-no-driver",
      severity: "error",
      comment: "The pipeline talks to the Runtime and Store contracts and emits events; it never imports a driver, GitHub or intake.",
      from: { path: "^src/pipeline/" },
      to: { path: "^(src/(github|webhooks|intents|store|server|router|cli|runtime/(docker|kubernetes))/|node_modules/(dockerode|probot|@octokit|pg|better-sqlite3|@electric-sql)/)" },
    },
    {
      name: "runtimes-never-call-github",
      severity: "error",
      comment: "A runtime or the router knows containers and traffic, never GitHub, intake or the store.",
      from: { path: "^src/(runtime|router)/" },
      to: { path: "^(src/(github|webhooks|intents|store|pipeline|server)/|node_modules/(probot|@octokit)/)" },
    },
    {
      name: "github-knows-no-runtime",
      severity: "error",
      comment: "Reporters and the source provider speak to GitHub; they know no runtime or router.",
      from: { path: "^src/github/" },
      to: { path: "^src/(runtime|router|store|pipeline)/" },
    },
    {
      name: "intake-knows-no-runtime",
      severity: "error",
      comment: "Webhooks and intents turn events into intents; they reach the pipeline and store only through core's ports.",
      from: { path: "^src/(webhooks|intents)/" },
      to: { path: "^(src/(runtime|router|store|pipeline)/|node_modules/(dockerode|pg|better-sqlite3|@electric-sql)/)" },
    },
    {
      name: "store-knows-no-flow",
      severity: "error",
      comment: "The store persists core's nouns; it imports no room above it.",
      from: { path: "^src/store/" },
      to: { path: "^src/(pipeline|github|webhooks|intents|runtime|router|server)/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    exclude: { path: "^dist/" },
  },
};
