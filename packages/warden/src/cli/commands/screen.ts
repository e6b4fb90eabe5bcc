/**
 * `warden screen --jsonl IN [--out OUT]`: offline content screening, no server. Reads JSON Lines
 * `{id, text, direction}` (IN `-` is stdin; other fields are ignored) and writes exactly one line per
 * input line, `{id, verdict, findings}` (format in ../shared/eval/README.md), to OUT or stdout. A line that
 * is not a valid item, or whose text is over the size limit, gets `{id, error: {code, message}}` in its
 * place; the command then ends with exit code 2 and one line on stderr. Actions and the size limit are
 * the `screen` defaults of the configuration.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { screenSchema } from '../../config/schema.js';
import { WardenError, isWardenError } from '../../errors/index.js';
import type { CliContext } from '../context.js';

interface ScreenFlags {
  jsonl: string;
  out?: string;
}

export function screenCommand(program: Command, ctx: CliContext): void {
  program
    .command('screen')
    .description('screen texts for prompt injection, secrets and personal data (offline, JSON Lines in and out)')
    .requiredOption('--jsonl <file>', 'input JSON Lines {id, text, direction}; - for stdin')
    .option('--out <file>', 'write the results here instead of stdout')
    .action(async (flags: ScreenFlags) => {
      // Loaded on use: the detectors' tables (phone metadata among them) are not every command's business.
      const [{ createScreener }, { screenItem, screenItemSchema }] = await Promise.all([import('../../screen/screener.js'), import('../../screen/screen-item.js')]);
      const config = screenSchema.parse({});
      const screener = createScreener({ maxBytes: config.maxBytes });
      const input = flags.jsonl === '-' ? process.stdin : createReadStream(flags.jsonl.startsWith('/') ? flags.jsonl : `${ctx.cwd}/${flags.jsonl}`);
      const opened = new Promise<void>((resolve, reject) => {
        if (input === process.stdin) resolve();
        else input.once('open', () => resolve()).once('error', (err: Error) => reject(new WardenError('WARDEN_USAGE', `cannot read ${flags.jsonl}: ${err.message}`)));
      });
      await opened;
      const out = flags.out ? createWriteStream(flags.out.startsWith('/') ? flags.out : `${ctx.cwd}/${flags.out}`) : undefined;
      const write = async (line: string) => {
        if (!out) return ctx.io.stdout(line);
        if (!out.write(line)) await once(out, 'drain');
      };
      let failed = 0;
      let lineNo = 0;
      for await (const line of createInterface({ input, crlfDelay: Infinity })) {
        lineNo++;
        if (line.trim() === '') continue;
        let id: unknown = null;
        try {
          const raw: unknown = JSON.parse(line);
          if (typeof raw === 'object' && raw !== null && 'id' in raw) id = raw.id;
          const item = screenItemSchema.safeParse(raw);
          if (!item.success) throw new WardenError('WARDEN_VALIDATION_FAILED', `line ${lineNo}: expected {id, text, direction: "input"|"output"}`);
          await write(`${JSON.stringify(screenItem(item.data, screener, config.actions))}\n`);
        } catch (err) {
          failed++;
          const error = isWardenError(err) ? { code: err.code, message: err.message } : { code: 'WARDEN_VALIDATION_FAILED', message: `line ${lineNo}: not JSON` };
          await write(`${JSON.stringify({ id, error })}\n`);
        }
      }
      if (out) await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
      if (failed > 0) throw new WardenError('WARDEN_VALIDATION_FAILED', `${failed} of ${lineNo} lines could not be screened (each has an error line in the output)`);
    });
}
