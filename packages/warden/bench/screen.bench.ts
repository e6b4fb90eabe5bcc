/**
 * Benchmark: content screening in process (normalize, prompt injection, secrets, PII). The corpus is
 * mixed text made here from fixed seeds: prose, an email, source code, a JSON tool result, log lines and
 * a YAML config — about 1 MiB, with findings in it (emails, varied phone numbers, a generated key).
 * Reported: throughput in MB/s per core (one thread) over the whole corpus, and the latency of
 * screening one 4 KiB tool result (p50/p99 over 2,000 runs). Baseline in the same run: Unicode NFKC
 * normalization of the same corpus by node (`String.prototype.normalize`), the first step any screen
 * takes, native code.
 */
import { generateKeyPairSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { afterAll, bench, describe } from 'vitest';
import { createScreener } from '../src/screen/screener.js';

/** A small seeded generator (mulberry32) so every run screens the same corpus. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const words = 'the report build service customer invoice deploy region metric latency order account review update policy team release note data system request response cache error retry window quarter budget plan meeting draft schedule'.split(' ');
const key = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

function corpus(bytes: number): string {
  const rnd = seeded(7);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const sentence = () => {
    const n = 6 + Math.floor(rnd() * 12);
    const s = Array.from({ length: n }, () => pick(words)).join(' ');
    return `${s[0]!.toUpperCase()}${s.slice(1)}.`;
  };
  const digits = (n: number) => Array.from({ length: n }, () => Math.floor(rnd() * 10)).join('');
  // Varied numbers, half of them outside North America (those go through libphonenumber).
  const phone = () => pick([() => `+1 ${2 + Math.floor(rnd() * 8)}${digits(2)} ${2 + Math.floor(rnd() * 8)}${digits(2)} ${digits(4)}`, () => `(${2 + Math.floor(rnd() * 8)}${digits(2)}) 555-${digits(4)}`, () => `+44 20 7946 ${digits(4)}`, () => `+49 30 ${digits(8)}`])();
  const blocks = [
    () => Array.from({ length: 5 }, sentence).join(' ') + '\n\n',
    () => `From: Sam Lee <sam.lee@corp.example>\nSubject: ${sentence()}\n\nHi team,\n${sentence()} ${sentence()}\nCall me at ${phone()}.\n\n`,
    () => `function handle${Math.floor(rnd() * 1000)}(req, res) {\n  const id = req.params.id;\n  if (!id) return res.status(400).json({ error: 'missing id' });\n  return db.find(id).then((row) => res.json(row));\n}\n\n`,
    () => `${JSON.stringify({ id: Math.floor(rnd() * 1e6), status: pick(['open', 'closed']), title: sentence(), tags: [pick(words), pick(words)], updated: '2026-11-21T10:00:00Z' })}\n`,
    () => `2026-11-21T10:00:${String(Math.floor(rnd() * 60)).padStart(2, '0')}Z INFO request_id=${Math.floor(rnd() * 1e9).toString(16)} method=GET path=/api/v1/${pick(words)} status=200 duration_ms=${Math.floor(rnd() * 300)}\n`,
    () => `service:\n  name: ${pick(words)}\n  replicas: 3\n  image: registry.example/${pick(words)}:1.4.2\n  env:\n    LOG_LEVEL: info\n\n`,
  ];
  let text = '';
  while (text.length < bytes) text += pick(blocks)();
  return `${text.slice(0, bytes / 2)}\n${key}\n${text.slice(bytes / 2)}`;
}

const text = corpus(1024 * 1024);
const bytes = Buffer.byteLength(text);
const toolResult = JSON.stringify({ content: [{ type: 'text', text: corpus(4096).slice(0, 4096) }] }).slice(0, 4096);
const screener = createScreener({ maxBytes: 8 * 1024 * 1024 });
const timings: Record<string, number[]> = {};
const slow = { time: 0, iterations: 10, warmupTime: 0, warmupIterations: 2 };

function timed(name: string, work: () => unknown): void {
  const t0 = performance.now();
  work();
  (timings[name] ??= []).push(performance.now() - t0);
}

describe('screen', () => {
  bench('screen 1 MiB of mixed text (output direction)', () => timed('screen', () => screener.scan(text, 'output')), slow);
  bench('baseline: NFKC normalization of the same text (node)', () => timed('baseline', () => text.normalize('NFKC').length), slow);
  bench(
    'screen a 4 KiB tool result, 2,000 times',
    () => {
      for (let i = 0; i < 2000; i++) timed('4k', () => screener.scan(toolResult, 'output'));
    },
    { time: 0, iterations: 1, warmupTime: 0, warmupIterations: 1 },
  );
});

afterAll(() => {
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
  const mbps = (ms: number) => bytes / 1e6 / (ms / 1000);
  const s = median(timings['screen'] ?? [NaN]);
  const b = median(timings['baseline'] ?? [NaN]);
  const k = timings['4k'] ?? [NaN];
  process.stdout.write(
    [
      `\nscreen: ${(bytes / 1024).toFixed(0)} KiB corpus, ${screener.scan(text, 'output').length} findings`,
      `  screen        ${mbps(s).toFixed(1)} MB/s (median ${s.toFixed(1)} ms)`,
      `  NFKC (node)   ${mbps(b).toFixed(1)} MB/s (median ${b.toFixed(1)} ms); screen = ${(s / b).toFixed(1)}x the baseline's time`,
      `  4 KiB result  p50 ${pct(k, 0.5).toFixed(3)} ms, p99 ${pct(k, 0.99).toFixed(3)} ms (n=${k.length})\n`,
    ].join('\n'),
  );
});
