/** `warden version`: the CLI's version. */
import type { Command } from 'commander';
import { version } from '../../version.js';
import type { CliContext } from '../context.js';
import { printResult } from '../output.js';

export function versionCommand(program: Command, ctx: CliContext): void {
  program
    .command('version')
    .description('print the version')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      printResult(ctx.io, opts.json === true, { version, node: process.version }, () => [`warden ${version}`]);
    });
}
