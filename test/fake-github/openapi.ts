// GitHub's own OpenAPI description (GHES 3.19, from @octokit/openapi) as a request validator: find the operation a
// method + path names, then check path parameters, query and JSON body against its schemas. Validators are
// compiled the first time an operation is used and cached, so loading costs only the JSON parse.
//
// ajv 6 is used because it is the copy hoisted to node_modules/ajv (eslint's); its `nullable` option understands
// OpenAPI 3.0's `nullable: true`, which ajv 8 would need a translation for.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import Ajv from "ajv";

const require = createRequire(import.meta.url);
export const DESCRIPTION_FILE = require.resolve("@octokit/openapi/generated/ghes-3.19.json");

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

interface Parameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
  schema?: JsonObject;
  "x-multi-segment"?: boolean;
}

export interface Operation {
  operationId: string;
  method: string;
  /** The path template as the description writes it, e.g. `/repos/{owner}/{repo}/check-runs`. */
  template: string;
  parameters: Parameter[];
  bodySchema?: JsonObject;
  bodyRequired: boolean;
  responses: JsonObject;
}

export interface MatchedOperation {
  operation: Operation;
  params: Record<string, string>;
}

export interface ValidationProblem {
  /** Where: `path`, `query` or `body`, then a JSON pointer-ish path. */
  location: string;
  message: string;
}

interface Route {
  regex: RegExp;
  names: string[];
  literalLength: number;
  operation: Operation;
}

const METHODS = new Set(["get", "put", "post", "delete", "patch", "head", "options"]);

export class OpenApiValidator {
  private readonly routes: Route[] = [];
  private readonly bodyAjv: Ajv.Ajv;
  private readonly paramAjv: Ajv.Ajv;
  private readonly cache = new Map<string, Ajv.ValidateFunction>();
  private readonly components: JsonObject;

  constructor(file = DESCRIPTION_FILE) {
    const doc = JSON.parse(readFileSync(file, "utf8")) as JsonObject;
    this.components = doc.components as JsonObject;
    allowNullInEnums(this.components.schemas as JsonObject);
    const options: Ajv.Options = {
      allErrors: true,
      nullable: true,
      unknownFormats: "ignore",
      validateSchema: false,
      schemaId: "auto",
      missingRefs: "fail",
    };
    this.bodyAjv = new Ajv(options);
    this.paramAjv = new Ajv({ ...options, coerceTypes: "array" });
    // Formats GitHub uses that ajv does not know; GitHub's own checks for them are not documented.
    // GitHub answers "" for unset URL fields its description marks `format: uri` (deployment statuses' log_url).
    const uri = /^[a-z][a-z0-9+.-]*:[^\s]*$/i;
    this.bodyAjv.addFormat("uri", (value: string) => value === "" || uri.test(value));
    for (const format of ["int32", "int64", "repo.nwo", "binary", "ssh-key", "ssh-key fingerprint", "ip/cidr", "timestamp"]) {
      this.bodyAjv.addFormat(format, () => true);
      this.paramAjv.addFormat(format, () => true);
    }
    const components = { components: { schemas: this.components.schemas } };
    this.bodyAjv.addSchema(components, "gh");
    this.paramAjv.addSchema(components, "gh");

    for (const [template, item] of Object.entries(doc.paths as JsonObject)) {
      for (const [method, raw] of Object.entries(item as JsonObject)) {
        if (!METHODS.has(method)) continue;
        const op = raw as JsonObject;
        const parameters = ((op.parameters ?? []) as JsonObject[]).map((p) => this.deref(p) as unknown as Parameter);
        const body = op.requestBody ? (this.deref(op.requestBody as JsonObject) as JsonObject) : undefined;
        const json = (body?.content as JsonObject | undefined)?.["application/json"] as JsonObject | undefined;
        const operation: Operation = {
          operationId: op.operationId as string,
          method: method.toUpperCase(),
          template,
          parameters,
          bodySchema: json?.schema as JsonObject | undefined,
          bodyRequired: body?.required === true,
          responses: (op.responses ?? {}) as JsonObject,
        };
        this.routes.push(routeFor(operation));
      }
    }
    // The most literal template wins: `/commits/{ref}/check-runs` before `/commits/{ref}`.
    this.routes.sort((a, b) => b.literalLength - a.literalLength);
  }

  /** The operation for a method and a path below the API root (`/repos/o/r`), or null. */
  match(method: string, path: string): MatchedOperation | null {
    const upper = method.toUpperCase();
    for (const route of this.routes) {
      if (route.operation.method !== upper) continue;
      const m = route.regex.exec(path);
      if (!m) continue;
      const params: Record<string, string> = {};
      route.names.forEach((name, i) => {
        params[name] = decodeURIComponent(m[i + 1] ?? "");
      });
      return { operation: route.operation, params };
    }
    return null;
  }

  /** Every problem with a request for a matched operation; empty when it is valid. */
  validate(
    matched: MatchedOperation,
    query: Record<string, string | string[]>,
    body: unknown,
    hasBody: boolean,
  ): ValidationProblem[] {
    const { operation, params } = matched;
    const problems: ValidationProblem[] = [];
    for (const where of ["path", "query"] as const) {
      const data: Record<string, unknown> = where === "path" ? { ...params } : { ...query };
      const validate = this.compiled(`${operation.operationId}:${where}`, () => parameterSchema(operation, where));
      if (!validate(data)) problems.push(...toProblems(where, validate.errors));
    }
    if (operation.bodySchema) {
      if (!hasBody) {
        if (operation.bodyRequired) problems.push({ location: "body", message: "a JSON request body is required" });
      } else {
        const validate = this.compiled(`${operation.operationId}:body`, () => nullableEnums(rewriteRefs(operation.bodySchema!)), true);
        if (!validate(body)) problems.push(...toProblems("body", validate.errors));
      }
    }
    return problems;
  }

  /** A deep copy of one of the description's named examples (`check-run`, `deployment-status`, …). */
  example(name: string): JsonObject {
    const example = (this.components.examples as JsonObject)[name] as JsonObject | undefined;
    if (!example) throw new Error(`GitHub's API description has no example named ${name}`);
    return structuredClone(example.value as JsonObject);
  }

  /** The JSON schema of an operation's response body for a status, for checking the fake's own answers. */
  responseValidator(operation: Operation, status: number): Ajv.ValidateFunction | null {
    const raw = operation.responses[String(status)] as JsonObject | undefined;
    if (!raw) return null;
    const response = this.deref(raw);
    const schema = ((response.content as JsonObject | undefined)?.["application/json"] as JsonObject | undefined)
      ?.schema as JsonObject | undefined;
    if (!schema) return null;
    return this.compiled(`${operation.operationId}:response:${status}`, () => nullableEnums(rewriteRefs(schema)), true);
  }

  private compiled(key: string, schema: () => Json, body = false): Ajv.ValidateFunction {
    let validate = this.cache.get(key);
    if (!validate) {
      validate = (body ? this.bodyAjv : this.paramAjv).compile(schema() as object);
      this.cache.set(key, validate);
    }
    return validate;
  }

  /** Resolves a `#/components/{parameters,requestBodies,responses}/…` reference (one level is all GitHub uses). */
  private deref(value: JsonObject): JsonObject {
    const ref = value.$ref;
    if (typeof ref !== "string") return value;
    const [, , kind, name] = ref.split("/");
    const target = (this.components[kind!] as JsonObject | undefined)?.[name!] as JsonObject | undefined;
    if (!target) throw new Error(`GitHub's API description has a dangling reference ${ref}`);
    return this.deref(target);
  }
}

function routeFor(operation: Operation): Route {
  const multi = new Set(operation.parameters.filter((p) => p["x-multi-segment"]).map((p) => p.name));
  const names: string[] = [];
  let literalLength = 0;
  const source = operation.template.replace(/\{([^}]+)\}|[^{]+/g, (token, name?: string) => {
    if (name === undefined) {
      literalLength += token.length;
      return token.replace(/[.*+?^$()|[\]\\]/g, "\\$&");
    }
    names.push(name);
    return multi.has(name) ? "(.+?)" : "([^/]+?)";
  });
  return { regex: new RegExp(`^${source}$`), names, literalLength, operation };
}

function parameterSchema(operation: Operation, where: "path" | "query"): Json {
  const properties: JsonObject = {};
  const required: string[] = [];
  for (const p of operation.parameters) {
    if (p.in !== where) continue;
    properties[p.name] = rewriteRefs(p.schema ?? {});
    if (p.required) required.push(p.name);
  }
  return { type: "object", properties, required };
}

/** Points the description's local `#/components/…` references at the copy registered with ajv as `gh`. */
function rewriteRefs(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(rewriteRefs);
  if (schema === null || typeof schema !== "object") return schema;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(schema)) {
    out[key] = key === "$ref" && typeof value === "string" && value.startsWith("#/") ? `gh${value}` : rewriteRefs(value);
  }
  return out;
}

function nullableEnums(schema: Json): Json {
  allowNullInEnums(schema);
  return schema;
}

/** ajv 6's `nullable` adds null to `type` but not to `enum`; GitHub's nullable enums (a check run's conclusion) need both. */
function allowNullInEnums(schema: Json): void {
  if (Array.isArray(schema)) return schema.forEach(allowNullInEnums);
  if (schema === null || typeof schema !== "object") return;
  if (schema.nullable === true && Array.isArray(schema.enum) && !schema.enum.includes(null)) schema.enum.push(null);
  for (const value of Object.values(schema)) allowNullInEnums(value);
}

function toProblems(where: string, errors: Ajv.ErrorObject[] | null | undefined): ValidationProblem[] {
  return (errors ?? []).map((e) => ({
    location: `${where}${e.dataPath}`,
    message: `${e.message ?? "is invalid"}${"allowedValues" in e.params ? `: ${JSON.stringify(e.params.allowedValues)}` : ""}`,
  }));
}
