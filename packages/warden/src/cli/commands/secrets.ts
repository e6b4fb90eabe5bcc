/**
 * `warden secrets …`: manage the named secrets upstreams refer to (`secret:NAME`, `{{secret:NAME}}`)
 * on a running server through the admin API (`/v1/secrets`). `set NAME` takes the value from a no-echo
 * prompt on a terminal, otherwise from stdin (one trailing newline stripped, so `echo` and files work);
 * never from a flag or an argument, which end up in shell history and process listings. No command can
 * show a value: the server never returns one. Every command takes `--json`.
 */
import type { Command } from 'commander';
import { WardenError } from '../../errors/index.js';
import { MAX_SECRET_BYTES, type SecretInfo } from '../../secrets/index.js';
import type { CliContext } from '../context.js';
import { createClient, withServerOptions, type ServerFlags } from '../http-client.js';
import { printResult } from '../output.js';

export interface SecretsCommandOptions {
  /** Reads all of stdin (the value of `set` when there is no terminal); defaults to process.stdin. */
  readonly readStdin?: () => Promise<Buffer>;
}

interface SecretFlags extends ServerFlags {
  json?: boolean;
}

const usage = (message: string) => new WardenError('WARDEN_USAGE', message);
const secretPath = (name: string) => `/v1/secrets/${encodeURIComponent(name)}`;
const time = (ms: number) => new Date(ms).toISOString();

async function readProcessStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks);
}

/** The value from stdin: valid UTF-8, one trailing newline (LF or CRLF) stripped. */
export function valueFromStdin(bytes: Buffer): string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw usage('the value on stdin is not valid UTF-8');
  } finally {
    bytes.fill(0);
  }
  return text.replace(/\r?\n$/, '');
}

/** The value of `set`: prompted twice without echo on a terminal, otherwise read from stdin. */
async function readValue(ctx: CliContext, name: string, readStdin: () => Promise<Buffer>): Promise<string> {
  const typed = await ctx.prompt(`Value of secret ${name} (not shown): `);
  let value: string;
  if (typed === undefined) {
    value = valueFromStdin(await readStdin());
    if (value === '') throw usage('the value on stdin is empty');
  } else {
    if (typed === '') throw usage('the value is empty');
    if ((await ctx.prompt('Again, to confirm: ')) !== typed) throw usage('the two values differ; nothing was set');
    value = typed;
  }
  if (Buffer.byteLength(value, 'utf8') > MAX_SECRET_BYTES) throw usage(`a secret value is at most ${MAX_SECRET_BYTES} bytes`);
  return value;
}

export function secretsCommand(program: Command, ctx: CliContext, options: SecretsCommandOptions = {}): void {
  const readStdin = options.readStdin ?? readProcessStdin;
  const server = (command: Command) => withServerOptions(command).option('--json', 'print JSON');

  const secrets = program.command('secrets').description('manage secrets that Warden injects into upstreams (values are never shown)');

  server(
    secrets
      .command('set')
      .description('create or replace a secret; the value comes from stdin, or a prompt on a terminal')
      .argument('<name>', 'secret name (lower-case letters, digits, ".", "_", "-")'),
  ).action(async (name: string, flags: SecretFlags) => {
    const value = await readValue(ctx, name, readStdin);
    const info = await createClient(flags, ctx).send<SecretInfo>('PUT', secretPath(name), { value });
    printResult(ctx.io, flags.json === true, info, () => [
      `Stored secret ${info.name} at ${time(info.updatedAt)}. Refer to it as secret:${info.name} or {{secret:${info.name}}}.`,
    ]);
  });

  server(secrets.command('list').description('list secret names (never values)')).action(async (flags: SecretFlags) => {
    const result = await createClient(flags, ctx).getJson<{ secrets: SecretInfo[] }>('/v1/secrets');
    printResult(ctx.io, flags.json === true, result, () =>
      result.secrets.length === 0 ? ['No secrets.'] : result.secrets.map((s) => `${s.name.padEnd(32)} updated ${time(s.updatedAt)}  created ${time(s.createdAt)}`),
    );
  });

  server(secrets.command('delete').description('delete a secret (upstreams referring to it stop resolving)').argument('<name>', 'secret name')).action(
    async (name: string, flags: SecretFlags) => {
      await createClient(flags, ctx).send('DELETE', secretPath(name));
      printResult(ctx.io, flags.json === true, { deleted: name }, () => [`Deleted secret ${name}.`]);
    },
  );
}
