// The slice of a pino logger the Docker runtime uses, so tests can pass a silent one.
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
