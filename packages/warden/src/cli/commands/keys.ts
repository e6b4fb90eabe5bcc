/**
 * `warden keys …`: the key management service from the command line, over the HTTP API. Admin commands
 * (`/v1/keys`): create, list, show, update, rotate, disable/enable, destroy (schedule destruction in
 * 7..30 days) and cancel-destroy, `versions disable|enable`, `public-key [--key-version N]`, and
 * `import` (BYOK: the CLI fetches the wrapping public key, wraps the raw or PEM material locally and
 * sends only the wrapped blob). Data commands (`/v1/keys/NAME/encrypt|decrypt|sign|verify`, decided by
 * the operator's policies like an agent's call): input from `--in FILE` or stdin, binary values base64
 * on the wire; `decrypt` writes the raw plaintext to stdout or `--out FILE`; `verify` prints valid or
 * invalid and exits 1 when invalid. Every command takes `--json`; bad flag values are WARDEN_USAGE
 * (exit 2) before anything is sent.
 */
import { createPrivateKey } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parseDuration } from '../../config/duration.js';
import { WardenError } from '../../errors/index.js';
import { KEY_TYPES, MAX_CONTEXT_ENTRY_BYTES, MAX_CONTEXT_PAIRS, keyNamePattern, regionPattern, wrapKeyMaterial, type Key, type KeyDetails } from '../../kms/index.js';
import type { CliContext } from '../context.js';
import { createClient, withServerOptions, type ServerFlags } from '../http-client.js';
import { printResult } from '../output.js';
import { parseLabels } from './agents.js';

export interface KeysCommandOptions {
  /** Reads all of stdin (the input of encrypt, decrypt, sign, verify); defaults to process.stdin. */
  readonly readStdin?: () => Promise<Buffer>;
  /** Writes raw bytes to stdout (decrypted plaintext); defaults to process.stdout. */
  readonly writeStdout?: (bytes: Buffer) => void;
}

type KeyJson = Omit<Key, 'labels'> & { labels: Record<string, string> };
type KeyDetailsJson = KeyJson & { versions: Omit<KeyDetails['versions'][number], 'keyId'>[] };
type Flags = ServerFlags & { json?: boolean };
interface KeyFlags extends Flags {
  type?: string;
  protection?: string;
  region?: string;
  label?: string[];
  rotationPeriod?: string | false;
  minDecryptionVersion?: string;
  minEncryptionVersion?: string;
}
interface DataFlags extends Flags {
  context?: string[];
  in?: string;
  out?: string;
  signature?: string;
}

/** Plaintext or message per call: 64 KiB, what the API accepts per item. */
const MAX_INPUT_BYTES = 64 * 1024;
/** A sanity bound on a ciphertext read (the largest, of a 64 KiB plaintext, is about 87.5 KB); the server has the last word. */
const MAX_CIPHERTEXT_BYTES = 96 * 1024;
const MIN_ROTATION_MS = 3_600_000;
const DAY = 86_400_000;

const usage = (message: string) => new WardenError('WARDEN_USAGE', message);
const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];
const time = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());

/** `/v1/keys/NAME` (WARDEN_USAGE for a name the server would never accept). */
export function keyPath(name: string): string {
  if (!keyNamePattern.test(name)) throw usage(`NAME must be lowercase letters, digits, '.', '_' or '-' (at most 63), got "${name}"`);
  return `/v1/keys/${encodeURIComponent(name)}`;
}

function wholeNumber(flag: string, text: string, min: number, max: number): number {
  if (!/^\d{1,10}$/.test(text) || Number(text) < min || Number(text) > max) throw usage(`${flag} must be a whole number ${min}..${max}, got "${text}"`);
  return Number(text);
}

/** A rotation period like `90d`, at least one hour (sent as given; the server parses it again). */
function rotationPeriod(text: string): string {
  const ms = parseDuration(text);
  if (ms === undefined || ms < MIN_ROTATION_MS) throw usage(`--rotation-period must be a duration of at least 1h, e.g. 90d, got "${text}"`);
  return text;
}

/** `k=v` pairs to an encryption context (WARDEN_USAGE when one has no `=`, an empty key, or is too long). */
export function parseContext(pairs: readonly string[]): Record<string, string> {
  const context: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at < 1) throw usage(`--context must be key=value, got "${pair}"`);
    const [key, value] = [pair.slice(0, at), pair.slice(at + 1)];
    if (Buffer.byteLength(key) > MAX_CONTEXT_ENTRY_BYTES || Buffer.byteLength(value) > MAX_CONTEXT_ENTRY_BYTES) {
      throw usage(`--context keys and values are at most ${MAX_CONTEXT_ENTRY_BYTES} bytes`);
    }
    context[key] = value;
  }
  if (Object.keys(context).length > MAX_CONTEXT_PAIRS) throw usage(`at most ${MAX_CONTEXT_PAIRS} --context entries`);
  return context;
}

/** A period in ms as the largest whole unit (`90d`, `12h`, `30m`), or `manual`. */
export function formatPeriod(ms: number | null): string {
  if (ms === null) return 'manual';
  for (const [unit, size] of [['d', DAY], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/** Rows as columns padded to their widest cell. */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => r[i]?.length ?? 0))) ?? [];
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
}

/** The body of `POST /v1/keys` the create flags describe. */
export function createBody(name: string, flags: KeyFlags): Record<string, unknown> {
  keyPath(name);
  const types: readonly string[] = KEY_TYPES;
  if (flags.type === undefined || !types.includes(flags.type)) throw usage(`--type must be one of ${KEY_TYPES.join(', ')}, got "${flags.type ?? ''}"`);
  const body: Record<string, unknown> = { name, type: flags.type };
  if (flags.protection !== undefined) {
    if (flags.protection !== 'software' && flags.protection !== 'hsm') throw usage(`--protection must be software or hsm, got "${flags.protection}"`);
    body.protection = flags.protection;
  }
  if (flags.region !== undefined) {
    if (!regionPattern.test(flags.region)) throw usage(`--region must be lowercase letters, digits or '-', got "${flags.region}"`);
    body.region = flags.region;
  }
  if (flags.label !== undefined) body.labels = parseLabels(flags.label);
  if (typeof flags.rotationPeriod === 'string') body.rotationPeriod = rotationPeriod(flags.rotationPeriod);
  return body;
}

/** The body of `PATCH /v1/keys/NAME` (only the fields that were given). */
function updateBody(flags: KeyFlags): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (flags.rotationPeriod !== undefined) body.rotationPeriod = flags.rotationPeriod === false ? null : rotationPeriod(flags.rotationPeriod);
  if (flags.minDecryptionVersion !== undefined) body.minDecryptionVersion = wholeNumber('--min-decryption-version', flags.minDecryptionVersion, 1, 2 ** 31 - 1);
  if (flags.minEncryptionVersion !== undefined) body.minEncryptionVersion = wholeNumber('--min-encryption-version', flags.minEncryptionVersion, 1, 2 ** 31 - 1);
  if (flags.label !== undefined) body.labels = parseLabels(flags.label);
  return body;
}

function describeKey(k: KeyDetailsJson): string[] {
  const labels = Object.entries(k.labels).map(([key, v]) => `${key}=${v}`);
  return [
    `${k.name} (${k.state})`,
    `  id:              ${k.id}`,
    `  type:            ${k.type}, ${k.protection}, region ${k.region}`,
    `  labels:          ${labels.length ? labels.join(', ') : '-'}`,
    `  rotation:        ${formatPeriod(k.rotationPeriodMs)}${k.nextRotationAt === null ? '' : `, next ${time(k.nextRotationAt)}`}`,
    `  latest version:  ${k.latestVersion} (min decryption ${k.minDecryptionVersion}, min encryption ${k.minEncryptionVersion})`,
    ...(k.destroyAt === null ? [] : [`  destroy at:      ${time(k.destroyAt)}`]),
    `  created:         ${time(k.createdAt)}, updated ${time(k.updatedAt)}`,
    '  versions:',
    ...table([
      ['VERSION', 'STATE', 'ORIGIN', 'USES', 'LAST USED', 'CREATED'],
      ...k.versions.map((v) => [String(v.version), v.state, v.origin, String(v.usageCount), time(v.lastUsedAt), time(v.createdAt)]),
    ]).map((line) => `    ${line}`),
  ];
}

async function readStdinBuffer(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks);
}

async function readFileOrUsage(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (cause) {
    throw new WardenError('WARDEN_USAGE', `cannot read ${file}`, { cause });
  }
}

/**
 * Key material from a file for import: a PEM private key becomes PKCS#8 DER; anything else is sent as
 * the raw bytes (32 for aes256-gcm, 32..64 for hmac-sha256, PKCS#8 DER for ed25519 and ecdsa-p256).
 */
export async function readMaterial(file: string): Promise<Buffer> {
  const bytes = await readFileOrUsage(file);
  if (bytes.length === 0) throw usage(`${file} is empty`);
  if (!bytes.subarray(0, 64).toString('latin1').trimStart().startsWith('-----BEGIN')) return bytes;
  try {
    return createPrivateKey({ key: bytes, format: 'pem' }).export({ format: 'der', type: 'pkcs8' });
  } catch {
    // No cause: OpenSSL's message could quote parts of the key.
    throw usage(`${file} is not an unencrypted PEM private key`);
  } finally {
    bytes.fill(0);
  }
}

export function keysCommand(program: Command, ctx: CliContext, options: KeysCommandOptions = {}): void {
  const readStdin = options.readStdin ?? readStdinBuffer;
  const writeStdout = options.writeStdout ?? ((bytes: Buffer) => void process.stdout.write(bytes));
  const server = (command: Command) => withServerOptions(command).option('--json', 'print JSON');
  const named = (command: Command) => server(command.argument('<name>', 'key name'));
  const print = (flags: Flags, key: KeyDetailsJson, human: () => string[] = () => describeKey(key)) => printResult(ctx.io, flags.json === true, key, human);
  const input = async (flags: DataFlags, max = MAX_INPUT_BYTES): Promise<Buffer> => {
    const bytes = flags.in === undefined ? await readStdin() : await readFileOrUsage(flags.in);
    if (bytes.length > max) throw usage(`the input is ${bytes.length} bytes; at most ${max} per call`);
    return bytes;
  };
  const withContext = (command: Command) =>
    command
      .option('--context <key=value>', 'encryption context entry (repeat for several; decrypt needs the same)', collect)
      .option('--in <file>', 'read the input from this file instead of stdin');

  const keys = program.command('keys').description('manage keys and use them: encrypt, decrypt, sign, verify');

  named(keys.command('create').description('create a key'))
    .requiredOption('--type <type>', `key type: ${KEY_TYPES.join(', ')}`)
    .option('--protection <level>', 'software (default) or hsm')
    .option('--region <region>', 'region, e.g. eu')
    .option('--label <key=value>', 'a label (repeat for several)', collect)
    .option('--rotation-period <duration>', 'rotate automatically this often, e.g. 90d (at least 1h)')
    .action(async (name: string, flags: KeyFlags) => {
      const body = createBody(name, flags);
      print(flags, await createClient(flags, ctx).send<KeyDetailsJson>('POST', '/v1/keys', body));
    });

  server(keys.command('list').description('list keys')).action(async (flags: Flags) => {
    const result = await createClient(flags, ctx).getJson<{ keys: KeyJson[] }>('/v1/keys');
    printResult(ctx.io, flags.json === true, result, () =>
      result.keys.length === 0
        ? ['No keys.']
        : table([
            ['NAME', 'TYPE', 'PROTECTION', 'STATE', 'LATEST', 'ROTATION'],
            ...result.keys.map((k) => [k.name, k.type, k.protection, k.state, String(k.latestVersion), formatPeriod(k.rotationPeriodMs)]),
          ]),
    );
  });

  named(keys.command('show').description('show a key and its versions')).action(async (name: string, flags: Flags) =>
    print(flags, await createClient(flags, ctx).getJson<KeyDetailsJson>(keyPath(name))),
  );

  named(keys.command('update').description("change a key's rotation, minimum versions or labels"))
    .option('--rotation-period <duration>', 'rotate automatically this often, e.g. 90d')
    .option('--no-rotation-period', 'rotate manually only')
    .option('--min-decryption-version <n>', 'refuse to decrypt or verify with versions below this')
    .option('--min-encryption-version <n>', 'stored, but new operations always use the latest version (no effect yet)')
    .option('--label <key=value>', 'a label (repeat for several; replaces the labels)', collect)
    .action(async (name: string, flags: KeyFlags) => {
      const path = keyPath(name);
      const body = updateBody(flags);
      if (Object.keys(body).length === 0) throw usage('nothing to update: give at least one field flag');
      print(flags, await createClient(flags, ctx).send<KeyDetailsJson>('PATCH', path, body));
    });

  const lifecycle = (verb: string, route: string, description: string, done: (k: KeyDetailsJson) => string) =>
    named(keys.command(verb).description(description)).action(async (name: string, flags: Flags) => {
      const key = await createClient(flags, ctx).send<KeyDetailsJson>('POST', `${keyPath(name)}/${route}`);
      print(flags, key, () => [done(key)]);
    });
  lifecycle('rotate', 'rotate', 'add a new version and use it for new operations', (k) => `Rotated ${k.name}: version ${k.latestVersion} is now the latest.`);
  lifecycle('disable', 'disable', 'refuse every operation with the key', (k) => `Disabled ${k.name}.`);
  lifecycle('enable', 'enable', 'allow operations with the key again', (k) => `Enabled ${k.name}.`);

  named(keys.command('destroy').description('schedule the destruction of a key (operations are refused at once)'))
    .option('--days <n>', 'days until the material is erased (7..30, default 30)')
    .action(async (name: string, flags: Flags & { days?: string }) => {
      const path = keyPath(name);
      const body = flags.days === undefined ? {} : { days: wholeNumber('--days', flags.days, 7, 30) };
      const key = await createClient(flags, ctx).send<KeyDetailsJson>('POST', `${path}/schedule-destruction`, body);
      print(flags, key, () => [`${key.name} is ${key.state}; its material will be destroyed at ${time(key.destroyAt)} (cancel with \`warden keys cancel-destroy ${key.name}\`).`]);
    });
  lifecycle('cancel-destroy', 'cancel-destruction', 'cancel a scheduled destruction (the key stays disabled)', (k) => `Cancelled the destruction of ${k.name}; it is ${k.state}.`);

  const versions = keys.command('versions').description("disable or enable one version of a key");
  for (const verb of ['disable', 'enable'] as const) {
    server(versions.command(verb).description(`${verb} a key version`).argument('<name>', 'key name').argument('<version>', 'version number')).action(
      async (name: string, version: string, flags: Flags) => {
        const path = `${keyPath(name)}/versions/${wholeNumber('VERSION', version, 1, 2 ** 31 - 1)}/${verb}`;
        const key = await createClient(flags, ctx).send<KeyDetailsJson>('POST', path);
        print(flags, key, () => [`${verb === 'disable' ? 'Disabled' : 'Enabled'} version ${version} of ${key.name}.`]);
      },
    );
  }

  named(keys.command('public-key').description('print the public key of an ed25519 or ecdsa-p256 key (PEM)'))
    // Not `--version`: the program's own -v/--version is recognised after subcommands too.
    .option('--key-version <n>', 'key version (default: the latest)')
    .option('--jwk', 'print the JWK instead of PEM')
    .action(async (name: string, flags: Flags & { keyVersion?: string; jwk?: boolean }) => {
      const path = keyPath(name);
      const query = flags.keyVersion === undefined ? '' : `?version=${wholeNumber('--key-version', flags.keyVersion, 1, 2 ** 31 - 1)}`;
      const key = await createClient(flags, ctx).getJson<{ name: string; version: number; pem: string; jwk: Record<string, unknown> }>(`${path}/public-key${query}`);
      printResult(ctx.io, flags.json === true, key, () => [flags.jwk === true ? JSON.stringify(key.jwk, null, 2) : key.pem.trimEnd()]);
    });

  named(keys.command('import').description('import your own key material as a new version (wrapped locally; BYOK)'))
    .requiredOption('--material-file <file>', 'raw material (32 bytes for aes256-gcm, 32..64 for hmac-sha256) or a PKCS#8 DER/PEM private key')
    .action(async (name: string, flags: Flags & { materialFile: string }) => {
      const path = keyPath(name);
      const material = await readMaterial(flags.materialFile);
      const client = createClient(flags, ctx);
      let wrapped: Buffer;
      try {
        const { wrappingKey } = await client.getJson<{ wrappingKey: string }>(`${path}/import`);
        wrapped = wrapKeyMaterial(wrappingKey, material);
      } finally {
        material.fill(0);
      }
      const key = await client.send<KeyDetailsJson>('POST', `${path}/import`, { material: wrapped.toString('base64') });
      print(flags, key, () => [`Imported version ${key.latestVersion} of ${key.name}.`]);
    });

  withContext(named(keys.command('encrypt').description('encrypt stdin (or --in FILE); prints the ciphertext'))).action(async (name: string, flags: DataFlags) => {
    const path = keyPath(name);
    const context = parseContext(flags.context ?? []);
    const plaintext = await input(flags);
    const body = { plaintext: plaintext.toString('base64'), ...(flags.context === undefined ? {} : { context }) };
    const result = await createClient(flags, ctx).send<{ ciphertext: string; keyVersion: number }>('POST', `${path}/encrypt`, body);
    printResult(ctx.io, flags.json === true, result, () => [result.ciphertext]);
  });

  withContext(named(keys.command('decrypt').description('decrypt the ciphertext on stdin (or --in FILE); writes the raw plaintext')))
    .option('--out <file>', 'write the plaintext to this file (mode 0600) instead of stdout')
    .action(async (name: string, flags: DataFlags) => {
      const path = keyPath(name);
      const context = parseContext(flags.context ?? []);
      const ciphertext = (await input(flags, MAX_CIPHERTEXT_BYTES)).toString('utf8').trim();
      if (ciphertext === '') throw usage('no ciphertext given (stdin or --in FILE)');
      const body = { ciphertext, ...(flags.context === undefined ? {} : { context }) };
      const result = await createClient(flags, ctx).send<{ plaintext: string; keyVersion: number }>('POST', `${path}/decrypt`, body);
      if (flags.json === true) return printResult(ctx.io, true, result, () => []);
      const plaintext = Buffer.from(result.plaintext, 'base64');
      if (flags.out === undefined) return writeStdout(plaintext);
      await writeFile(flags.out, plaintext, { mode: 0o600 });
      ctx.io.stdout(`Wrote ${plaintext.length} byte(s) to ${flags.out} (key version ${result.keyVersion}).\n`);
    });

  named(keys.command('sign').description('sign stdin (or --in FILE) with an ed25519 or ecdsa-p256 key; prints the signature'))
    .option('--in <file>', 'read the message from this file instead of stdin')
    .action(async (name: string, flags: DataFlags) => {
      const path = keyPath(name);
      const message = await input(flags);
      const result = await createClient(flags, ctx).send<{ signature: string; keyVersion: number }>('POST', `${path}/sign`, { message: message.toString('base64') });
      printResult(ctx.io, flags.json === true, result, () => [result.signature]);
    });

  named(keys.command('verify').description('verify a signature over stdin (or --in FILE); prints valid or invalid (exit 1)'))
    .requiredOption('--signature <signature>', 'the signature `warden keys sign` printed')
    .option('--in <file>', 'read the message from this file instead of stdin')
    .action(async (name: string, flags: DataFlags & { signature: string }) => {
      const path = keyPath(name);
      const signature = flags.signature.trim();
      if (signature === '') throw usage('--signature is empty');
      const message = await input(flags);
      const result = await createClient(flags, ctx).send<{ valid: boolean; keyVersion: number }>('POST', `${path}/verify`, { message: message.toString('base64'), signature });
      printResult(ctx.io, flags.json === true, result, () => [result.valid ? 'valid' : 'invalid']);
      // The catalog has no code for "verified, and it does not match"; a refusal (exit 1) is the closest.
      if (!result.valid) throw new WardenError('WARDEN_KMS_SIGNATURE_INVALID', `the signature is not valid for this message and key ${name}`);
    });
}
