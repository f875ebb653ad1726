/** Shared CLI conventions: one-line errors, exit codes, --json output. */

/** An error the operator can fix: printed as one line, exit code 2 (bad input) or 1 (operation failed). */
export class DrpError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
    this.name = "DrpError";
  }
}

export function failAndExit(e: unknown): never {
  const message = e instanceof Error ? e.message : String(e);
  const code = e instanceof DrpError ? e.exitCode : 1;
  process.stderr.write(`drp: ${message.split("\n")[0]}\n`);
  if (process.env.DRP_DEBUG && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  process.exit(code);
}

/** Prints a result as one JSON object (with --json) or as human text. */
export function emit(json: boolean, value: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${human()}\n`);
}
