// What every `berth` subcommand is: a summary, a usage line and a run function over injected I/O.

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readFile: (path: string) => Promise<string>;
}

export interface Command {
  summary: string;
  usage: string;
  run: (args: string[], io: CliIo) => Promise<number>;
}

/** Exit codes: 0 success, 1 the input has problems, 2 the command could not run (usage, unreadable file). */
export const EXIT = { ok: 0, problems: 1, failure: 2 } as const;
