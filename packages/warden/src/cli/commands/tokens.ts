/**
 * `warden tokens detokenize TOKEN...`: turns screening tokens back into the values they stand for, over
 * `POST /v1/tokens/detokenize` as the logged-in admin (decided by the operator's policies: the action
 * `tokens:detokenize` on the tokenization key, like an agent's call). Prints one line per token —
 * `TOKEN  TYPE  VALUE`, or `TOKEN  error  CODE: detail` — in the order given (a value with control
 * characters is printed as a JSON string); `--json` prints the server's `{results}`. When some tokens
 * could not be detokenized, every result is still printed, then the command fails (exit 1 or 2, from the
 * first failure's code). More than 1000 tokens is WARDEN_USAGE before anything is sent.
 */
import type { Command } from 'commander';
import { WardenError, errorCatalog, type ErrorCode } from '../../errors/index.js';
import { MAX_DETOKENIZE_BATCH } from '../../screen/tokenizer.js';
import type { CliContext } from '../context.js';
import { createClient, withServerOptions, type ServerFlags } from '../http-client.js';
import { printResult } from '../output.js';
import { table } from './keys.js';

type Flags = ServerFlags & { json?: boolean };
type ItemJson = { value: string; type: string } | { error: { code: string; status: number; title: string; detail: string } };

// eslint-disable-next-line no-control-regex -- the point is to find control characters
const CONTROL = /[\u0000-\u001f\u007f]/;
const printable = (value: string) => (CONTROL.test(value) ? JSON.stringify(value) : value);
const codeOf = (code: string): ErrorCode => (code in errorCatalog ? (code as ErrorCode) : 'WARDEN_INTERNAL');

export function tokensCommand(program: Command, ctx: CliContext): void {
  const tokens = program.command('tokens').description('reveal the values behind screening tokens');

  withServerOptions(tokens.command('detokenize').description('print the values of screening tokens (tok_<type>_v<n>_<mac>)'))
    .argument('<token...>', 'tokens to detokenize (at most 1000)')
    .option('--json', 'print JSON')
    .action(async (list: string[], flags: Flags) => {
      if (list.length > MAX_DETOKENIZE_BATCH) throw new WardenError('WARDEN_USAGE', `at most ${MAX_DETOKENIZE_BATCH} tokens per call, got ${list.length}`);
      const result = await createClient(flags, ctx).send<{ results: ItemJson[] }>('POST', '/v1/tokens/detokenize', { tokens: list });
      printResult(ctx.io, flags.json === true, result, () =>
        table(result.results.map((r, i) => ('error' in r ? [list[i] ?? '', 'error', `${r.error.code}: ${r.error.detail}`] : [list[i] ?? '', r.type, printable(r.value)]))),
      );
      const failed = result.results.flatMap((r) => ('error' in r ? [r.error] : []));
      const [first] = failed;
      if (first) throw new WardenError(codeOf(first.code), `${failed.length} of ${list.length} token(s) could not be detokenized (first: ${first.detail})`);
    });
}
