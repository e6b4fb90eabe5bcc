/**
 * The `warden` command line: builds the commander program and runs it, turning every failure into one
 * line on stderr and an exit code (2 for bad input: unknown flags, bad config, refused seal; 1 otherwise).
 */
import { Command, CommanderError } from 'commander';
import { version } from '../version.js';
import { adminsCommand } from './commands/admins.js';
import { agentsCommand } from './commands/agents.js';
import { auditCommand } from './commands/audit.js';
import { initCommand } from './commands/init.js';
import { keysCommand } from './commands/keys.js';
import { loginCommands } from './commands/login.js';
import { approvalsCommand } from './commands/approvals.js';
import { mcpCommand } from './commands/mcp.js';
import { operatorCommand } from './commands/operator.js';
import { policiesCommand } from './commands/policies.js';
import { screenCommand } from './commands/screen.js';
import { secretsCommand } from './commands/secrets.js';
import { serveCommand } from './commands/serve.js';
import { statusCommand } from './commands/status.js';
import { tokensCommand } from './commands/tokens.js';
import { versionCommand } from './commands/version.js';
import type { CliContext } from './context.js';
import { reportFailure } from './output.js';

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('warden')
    .description('Warden: a zero-trust control plane for AI agents')
    .version(version, '-v, --version')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => ctx.io.stdout(text),
      // Commander's own usage errors: keep the first line only (one-line errors), exit 2 below.
      writeErr: (text) => ctx.io.stderr(`${text.split('\n')[0]} (WARDEN_USAGE)\n`),
      outputError: (text, write) => write(text.replace(/^error: /, 'warden: ')),
    });
  versionCommand(program, ctx);
  initCommand(program, ctx);
  serveCommand(program, ctx);
  statusCommand(program, ctx);
  operatorCommand(program, ctx);
  auditCommand(program, ctx);
  agentsCommand(program, ctx);
  loginCommands(program, ctx);
  adminsCommand(program, ctx);
  policiesCommand(program, ctx);
  keysCommand(program, ctx);
  tokensCommand(program, ctx);
  secretsCommand(program, ctx);
  mcpCommand(program, ctx);
  approvalsCommand(program, ctx);
  screenCommand(program, ctx);
  return program;
}

/** Run the CLI with `argv` (without node and script); resolves to the exit code. */
export async function runCli(argv: string[], ctx: CliContext): Promise<number> {
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? 0 : 2;
    }
    return reportFailure(ctx.io, err);
  }
}
