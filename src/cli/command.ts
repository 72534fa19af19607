// What every `berth` subcommand is: a summary, a usage line and a run function over injected I/O.

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readFile: (path: string) => Promise<string>;
  /** BERTH_URL and BERTH_TOKEN are read from here (process.env). */
  env?: Record<string, string | undefined>;
  /** All of standard input, for a secret piped in. */
  readStdin?: () => Promise<string>;
  /** Standard input is a terminal: ask with a hidden prompt instead of reading it. */
  stdinIsTTY?: boolean;
  /** Reads one line from the terminal without echoing it. */
  promptHidden?: (prompt: string) => Promise<string>;
  fetch?: typeof fetch;
  version?: string;
}

export interface Command {
  summary: string;
  usage: string;
  run: (args: string[], io: CliIo) => Promise<number>;
}

/**
 * Exit codes: 0 success; 1 the input has problems (spec validate) or the operation failed (a deploy that
 * ended in ERROR or CANCELED, an action Berth refused); 2 the command could not run (usage, unreadable file,
 * BERTH_URL or BERTH_TOKEN unset); 3 the token was refused; 4 no such app, deployment, secret or token;
 * 5 Berth could not be reached or failed to answer.
 */
export const EXIT = { ok: 0, problems: 1, failure: 2, unauthorized: 3, notFound: 4, unavailable: 5 } as const;
