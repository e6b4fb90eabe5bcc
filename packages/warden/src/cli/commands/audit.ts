/**
 * `warden audit …`: the evidence plane from the command line, over a running server's HTTP API (or a
 * bundle file, offline). `verify` recomputes every leaf and root and checks every checkpoint against
 * the verifier key, naming the first bad index; `export` writes a self-contained bundle; `proof`
 * fetches and verifies an inclusion proof against the latest signed checkpoint; `tail` prints entries.
 */
import type { Command } from 'commander';
import type { AuditEntry, VerifyReport } from '../../audit/index.js';
import { WardenError } from '../../errors/index.js';
import type { CliContext } from '../context.js';
import { createClient, withServerOptions, type ServerFlags, type WardenClient } from '../http-client.js';
import { printResult } from '../output.js';

interface EntryJson {
  index: number;
  leafHash: string;
  body: string | null;
}
interface CheckpointJson {
  size: number;
  root: string;
  note: string;
}

const page = 1000;

/** Every entry in [start, end) from the server, in order, a page at a time. */
async function* fetchEntries(client: WardenClient, start: number, end: number): AsyncGenerator<AuditEntry> {
  for (let next = start; next < end; ) {
    const limit = Math.min(page, end - next);
    const { entries } = await client.getJson<{ entries: EntryJson[] }>(`/v1/audit/entries?start=${next}&limit=${limit}`);
    if (entries.length === 0) return;
    for (const e of entries) yield { index: e.index, leafHash: Buffer.from(e.leafHash, 'base64'), body: e.body };
    next = entries[entries.length - 1]!.index + 1;
  }
}

async function fetchCheckpoints(client: WardenClient, from = 0, upTo = Number.MAX_SAFE_INTEGER): Promise<CheckpointJson[]> {
  const all: CheckpointJson[] = [];
  for (let next = from; ; ) {
    const { checkpoints } = await client.getJson<{ checkpoints: CheckpointJson[] }>(`/v1/audit/checkpoints?from=${next}&limit=${page}`);
    all.push(...checkpoints.filter((c) => c.size <= upTo));
    if (checkpoints.length < page) return all;
    next = checkpoints[checkpoints.length - 1]!.size + 1;
  }
}

async function progressBar(ctx: CliContext, json: boolean, total: number) {
  if (!process.stderr.isTTY || json) return { update: (_n: number) => undefined, stop: () => undefined };
  const { SingleBar } = await import('cli-progress');
  const bar = new SingleBar({ stream: process.stderr, format: 'verifying [{bar}] {value}/{total} entries' });
  bar.start(Math.max(total, 1), 0);
  return { update: (n: number) => bar.update(n), stop: () => bar.stop() };
}

function describe(report: VerifyReport): string {
  const p = report.problem!;
  const at = p.index !== undefined ? ` at index ${p.index}` : p.checkpointSize !== undefined ? ` at checkpoint ${p.checkpointSize}` : '';
  return `audit log verification failed${at}: ${p.kind.replace(/_/g, ' ')}: ${p.message}`;
}

export function auditCommand(program: Command, ctx: CliContext): void {
  const audit = program.command('audit').description('verify, export and inspect the tamper-evident audit log');
  const server = withServerOptions;

  server(
    audit
      .command('verify')
      .description('verify a live log (or a bundle, offline): every leaf, root, checkpoint signature and consistency')
      .option('--bundle <file>', 'verify an export bundle offline instead of a server')
      .option('--verifier-key <key>', 'the checkpoint verifier key to trust (default: the one the server or bundle names)')
      .option('--json', 'print the report as JSON'),
  ).action(async (flags: ServerFlags & { bundle?: string; verifierKey?: string; json?: boolean }) => {
    const json = flags.json === true;
    const { verifyBundle, verifyLog } = await import('../../audit/index.js');
    let report: VerifyReport;
    if (flags.bundle) {
      const bar = await progressBar(ctx, json, 0);
      try {
        report = await verifyBundle(flags.bundle, {
          onProgress: bar.update,
          ...(flags.verifierKey ? { verifierKey: flags.verifierKey } : {}),
        });
      } finally {
        bar.stop();
      }
    } else {
      const client = createClient(flags, ctx);
      const verifierKey = flags.verifierKey ?? (await client.getText('/v1/audit/verifier-key')).trim();
      const { size } = await client.getJson<{ size: number }>('/v1/audit/entries?limit=0');
      const checkpoints = await fetchCheckpoints(client, 0, size);
      const bar = await progressBar(ctx, json, size);
      try {
        report = await verifyLog({
          verifierKey,
          entries: fetchEntries(client, 0, size),
          checkpoints: checkpoints.map((c) => c.note),
          onProgress: bar.update,
        });
      } finally {
        bar.stop();
      }
    }
    if (json) printResult(ctx.io, true, report, () => []);
    if (!report.ok) throw new WardenError('WARDEN_AUDIT_VERIFY_FAILED', describe(report), { details: { problem: report.problem } });
    if (!json) {
      printResult(ctx.io, false, report, () => [
        `Verified ${report.entries} entries and ${report.checkpoints} signed checkpoints.`,
        `Tree size ${report.size}, root ${report.root}`,
        ...(flags.verifierKey
          ? []
          : ['Checked against the verifier key the log names itself; pin the key you trust with --verifier-key.']),
      ]);
    }
  });

  server(
    audit
      .command('export')
      .description('write a self-contained, offline-verifiable bundle (entries, checkpoints, verifier key)')
      .requiredOption('--out <file>', 'bundle file to create (never overwritten)')
      .option('--from <index>', 'first entry to include', '0')
      .option('--json', 'print JSON'),
  ).action(async (flags: ServerFlags & { out: string; from: string; json?: boolean }) => {
    if (!/^\d+$/.test(flags.from)) throw new WardenError('WARDEN_USAGE', `--from must be a whole number, got "${flags.from}"`);
    const from = Number(flags.from);
    const { createWriteStream } = await import('node:fs');
    const { writeBundle, parseVerifierKey } = await import('../../audit/index.js');
    const client = createClient(flags, ctx);
    const verifierKey = (await client.getText('/v1/audit/verifier-key')).trim();
    const { size } = await client.getJson<{ size: number }>('/v1/audit/entries?limit=0');
    if (from > size) throw new WardenError('WARDEN_USAGE', `--from ${from} is past the end of the log (${size} entries)`);
    const { frontier } = await client.getJson<{ frontier: string[] }>(`/v1/audit/frontier?size=${from}`);
    const checkpoints = (await fetchCheckpoints(client, from, size)).map((c) => c.note);
    const stream = createWriteStream(flags.out, { flags: 'wx', mode: 0o600 });
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', (cause) => reject(new WardenError('WARDEN_USAGE', `cannot create ${flags.out}: it exists or is not writable`, { cause })));
    });
    await writeBundle(
      stream,
      {
        origin: parseVerifierKey(verifierKey).name,
        verifierKey,
        from,
        size,
        prefix: { size: from, frontier: frontier.map((h) => Buffer.from(h, 'base64')) },
      },
      fetchEntries(client, from, size),
      checkpoints,
    );
    printResult(ctx.io, flags.json === true, { out: flags.out, from, size, checkpoints: checkpoints.length }, () => [
      `Wrote entries ${from}..${size - 1} and ${checkpoints.length} checkpoints to ${flags.out}.`,
    ]);
  });

  server(
    audit
      .command('proof')
      .description('fetch and verify the inclusion proof of an entry against the latest signed checkpoint')
      .requiredOption('--index <n>', 'entry index')
      .option('--verifier-key <key>', 'the verifier key to trust (default: fetched from the server)')
      .option('--json', 'print JSON'),
  ).action(async (flags: ServerFlags & { index: string; verifierKey?: string; json?: boolean }) => {
    if (!/^\d+$/.test(flags.index)) throw new WardenError('WARDEN_USAGE', `--index must be a whole number, got "${flags.index}"`);
    const index = Number(flags.index);
    const { openCheckpoint, verifyInclusion } = await import('../../audit/index.js');
    const client = createClient(flags, ctx);
    const verifierKey = flags.verifierKey ?? (await client.getText('/v1/audit/verifier-key')).trim();
    const checkpoint = openCheckpoint(await client.getText('/v1/audit/checkpoint'), verifierKey);
    if (index >= checkpoint.size) {
      throw new WardenError('WARDEN_NOT_FOUND', `entry ${index} is not yet covered by a signed checkpoint (size ${checkpoint.size})`);
    }
    const proof = await client.getJson<{ leafHash: string; proof: string[] }>(
      `/v1/audit/proof/inclusion?index=${index}&size=${checkpoint.size}`,
    );
    const ok = verifyInclusion(
      Buffer.from(proof.leafHash, 'base64'),
      index,
      checkpoint.size,
      proof.proof.map((h) => Buffer.from(h, 'base64')),
      checkpoint.root,
    );
    if (!ok) throw new WardenError('WARDEN_AUDIT_VERIFY_FAILED', `the inclusion proof of entry ${index} does not verify against checkpoint ${checkpoint.size}`);
    const result = { index, size: checkpoint.size, root: checkpoint.root.toString('base64'), leafHash: proof.leafHash, proof: proof.proof, verified: true };
    printResult(ctx.io, flags.json === true, result, () => [
      `Entry ${index} is in the log of size ${checkpoint.size} (root ${result.root}): proof verified.`,
      `leaf ${proof.leafHash}`,
      ...proof.proof.map((h, i) => `  ${i}: ${h}`),
    ]);
  });

  server(
    audit
      .command('tail')
      .description('print the latest entries (canonical JSON, one per line)')
      .option('-n, --lines <n>', 'how many of the latest entries to print first', '10')
      .option('-f, --follow', 'keep printing new entries as they are appended'),
  ).action(async (flags: ServerFlags & { lines: string; follow?: boolean }) => {
    if (!/^\d+$/.test(flags.lines)) throw new WardenError('WARDEN_USAGE', `--lines must be a whole number, got "${flags.lines}"`);
    const client = createClient(flags, ctx);
    let { size } = await client.getJson<{ size: number }>('/v1/audit/entries?limit=0');
    let next = Math.max(0, size - Number(flags.lines));
    for (;;) {
      for await (const entry of fetchEntries(client, next, size)) {
        ctx.io.stdout(`${entry.body ?? JSON.stringify({ index: entry.index, leafHash: entry.leafHash.toString('base64'), body: null })}\n`);
        next = entry.index + 1;
      }
      if (!flags.follow) return;
      await new Promise((resolve) => setTimeout(resolve, 1000));
      ({ size } = await client.getJson<{ size: number }>('/v1/audit/entries?limit=0'));
    }
  });
}
