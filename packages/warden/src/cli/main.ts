/** Entry point of the `warden` binary. */
import { processIo } from './output.js';
import { runCli } from './program.js';
import { terminalPrompt } from './secrets.js';

const code = await runCli(process.argv.slice(2), {
  io: processIo,
  env: process.env,
  prompt: terminalPrompt,
  cwd: process.cwd(),
});
process.exitCode = code;
