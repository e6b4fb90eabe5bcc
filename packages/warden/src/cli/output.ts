/**
 * CLI output and exit codes. Results go to stdout (as JSON with `--json`); failures are one line on
 * stderr: `warden: <message> (<CODE>)`, exit code 2 for bad input and 1 otherwise (from the catalog).
 */
import { isWardenError } from '../errors/index.js';

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export const processIo: Io = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Print a result: JSON with `json`, otherwise the human lines. */
export function printResult(io: Io, json: boolean, value: unknown, human: () => string[]): void {
  io.stdout(json ? `${JSON.stringify(value, null, 2)}\n` : `${human().join('\n')}\n`);
}

/** Report a failure on one line and return the exit code. */
export function reportFailure(io: Io, err: unknown): number {
  if (isWardenError(err)) {
    io.stderr(`warden: ${oneLine(err.message)} (${err.code})\n`);
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  io.stderr(`warden: unexpected error: ${oneLine(message)} (WARDEN_INTERNAL)\n`);
  return 1;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
