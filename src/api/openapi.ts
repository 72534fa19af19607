// The OpenAPI 3.1 document of /api/v1, generated from the routes' own zod schemas (zod's JSON Schema output is
// draft 2020-12, which OpenAPI 3.1 takes as it is), so the document and the validation cannot drift apart.
import { z } from "zod";
import { ErrorBody } from "./schemas.js";
import type { Route } from "./route.js";

type Json = Record<string, unknown>;

const schemaOf = (schema: z.ZodType, io: "input" | "output"): Json => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Json;
  return rest;
};

function parameters(route: Route): Json[] {
  const out: Json[] = [];
  for (const [where, schema] of [
    ["path", route.params],
    ["query", route.query],
  ] as const) {
    if (!schema) continue;
    const json = schemaOf(schema, "input") as { properties?: Record<string, Json>; required?: string[] };
    for (const [name, property] of Object.entries(json.properties ?? {})) {
      const { description, ...rest } = property as Json & { description?: string };
      out.push({ name, in: where, required: where === "path" || (json.required ?? []).includes(name), schema: rest, ...(description ? { description } : {}) });
    }
  }
  return out;
}

const errorResponse = { description: "An error: `{ error: { code, message } }`", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } };

function operation(route: Route): Json {
  const ok = route.stream
    ? { description: "Server-Sent Events", content: { "text/event-stream": { schema: { type: "string" } } } }
    : { description: "OK", content: { "application/json": { schema: route.response ? schemaOf(route.response, "output") : {} } } };
  const body = route.body
    ? { requestBody: { required: false, content: { "application/json": { schema: schemaOf(route.body, "input") } } } }
    : route.rawBody
      ? { requestBody: { required: true, content: { [route.rawBody]: { schema: { type: "string", format: "binary" } } } } }
      : {};
  return {
    summary: route.summary,
    tags: [route.tag],
    operationId: `${route.method.toLowerCase()}${route.path.replace(/\{(\w+)\}/g, "By_$1").replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? "").toUpperCase())}`,
    parameters: parameters(route),
    ...body,
    responses: { [String(route.status ?? 200)]: ok, default: errorResponse },
  };
}

export function buildOpenApi(routes: Route[]): Json {
  const paths: Record<string, Json> = {};
  for (const route of routes) {
    const at = (paths[route.path] ??= {});
    at[route.method.toLowerCase()] = operation(route);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Berth API",
      version: "1",
      description: "Berth's HTTP API. Every request but this document's needs `Authorization: Bearer <token>`; errors answer `{ error: { code, message } }`.",
    },
    servers: [{ url: "/api/v1" }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: { Error: schemaOf(ErrorBody, "output") },
    },
    paths,
  };
}
