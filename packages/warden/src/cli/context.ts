/** What every CLI command receives: its input/output streams, environment and prompt (all injectable for tests). */
import type { Io } from './output.js';
import type { Prompt } from './secrets.js';

export interface CliContext {
  io: Io;
  env: Readonly<Record<string, string | undefined>>;
  prompt: Prompt;
  cwd: string;
}
