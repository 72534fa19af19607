// Nothing Berth sends to GitHub may carry a secret: every text passes through one redactor built from the
// secret values in play (installation tokens, the app's own secrets, SECRET envs the pipeline reports).
export type Redact = (text: string) => string;

export function createRedactor(secrets: () => Iterable<string>): Redact {
  return (text) => {
    let out = text;
    // Longest first, so a secret that contains another is masked whole.
    const values = [...new Set(secrets())].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
    for (const value of values) out = out.split(value).join("[REDACTED]");
    return out;
  };
}
