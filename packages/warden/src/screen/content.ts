/**
 * The gateway's screen stages over MCP content: the string values of a request's arguments
 * (screen(in)), and the text of a result (screen(out): tool result content and structured content,
 * prompt messages, resource contents). In MCP's own structures, protocol fields (`type`, `mimeType`,
 * `uri`, `_meta`) and binary payloads (`data`, and a `blob` whose `mimeType` is not textual) are left
 * alone; a `blob` that is text (a textual `mimeType`, or none and the bytes are plain UTF-8 text) is
 * decoded, screened and re-encoded, so an upstream cannot pass text around screening by base64-encoding
 * it. Arguments and structured content are tool-defined, so every string in them is screened. Each string is screened on its own, so
 * offsets are into that string and `path` says which one. The total size of what is screened is bounded
 * by the screener's `maxBytes` (WARDEN_SCREEN_TOO_LARGE). Per-tool output filters (data minimization)
 * keep or drop top-level fields of JSON results before they are screened.
 */
import { WardenError } from '../errors/index.js';
import { applyActions, outcomeOf, type ActionTable, type ScreenAction, type Tokenize } from './actions.js';
import { tooLarge, type Screener } from './screener.js';
import type { Direction, ScreenFinding } from './types.js';

export interface ContentFinding extends ScreenFinding {
  /** Where the string is, e.g. `arguments.query` or `content[0].text`. */
  path: string;
}

export interface Screened<T> {
  /** The content after redaction, tokenization and marking (the input itself when nothing changed). */
  value: T;
  findings: ContentFinding[];
  /** The strongest action the findings call for (`block` and `approve` leave `value` unchanged). */
  outcome: ScreenAction;
}

export interface OutputFilter {
  keep?: readonly string[];
  drop?: readonly string[];
}

export interface ContentScreen {
  input(args: Record<string, unknown> | undefined): Promise<Screened<Record<string, unknown> | undefined>>;
  output<T extends object>(result: T, tool?: string): Promise<Screened<T>>;
}

export interface ContentScreenOptions {
  screener: Screener;
  actions: ActionTable;
  tokenize?: Tokenize;
  outputFilters?: Readonly<Record<string, OutputFilter>>;
}

const NOT_TEXT = new Set(['data', 'blob', 'type', 'mimeType', 'uri', '_meta']);
/** MIME types whose content is text: `text/*`, and structured text formats named by type or suffix. */
const TEXTUAL_MIME = /^(?:text\/|application\/(?:[\w.-]+\+)?(?:json|xml|yaml|x-yaml|toml|javascript|ecmascript|x-sh|sql|graphql|csv|x-www-form-urlencoded|markdown|x-ndjson|ndjson)\s*(?:;|$))/i;
/** Control characters other than tab, newline and carriage return: binary, not text. */
// eslint-disable-next-line no-control-regex
const BINARY_CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/**
 * The text a `blob` holds, or undefined when it is binary: decoded when its `mimeType` is textual, or
 * when it has none and its bytes are valid UTF-8 without control characters.
 */
function blobText(blob: string, mimeType: unknown): string | undefined {
  if (typeof mimeType === 'string' && !TEXTUAL_MIME.test(mimeType.trim())) return undefined;
  const bytes = Buffer.from(blob, 'base64');
  if (typeof mimeType === 'string') return bytes.toString('utf8');
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return BINARY_CONTROL.test(text) ? undefined : text;
  } catch {
    return undefined;
  }
}
const MAX_DEPTH = 32;
const MAX_STRINGS = 10_000;

interface Leaf {
  path: string;
  text: string;
  /** Puts a new value in its place (on a copy made by `copyTree`). */
  set: (value: string) => void;
  /** Only tool output texts are marked (an argument or a structured field keeps its shape). */
  markable: boolean;
}

/**
 * A deep copy of plain JSON data, with the strings to screen collected. `protocol`: the value is MCP's own
 * structure (a result's content items, messages, resource contents), where base64 payloads and protocol
 * fields are skipped and `text` items may be marked; tool-defined data (arguments, structured content) is
 * screened in full, whatever its keys are called.
 */
function copyTree(value: unknown, path: string, leaves: Leaf[], protocol: boolean, depth = 0): unknown {
  if (depth > MAX_DEPTH || leaves.length > MAX_STRINGS) throw new WardenError('WARDEN_SCREEN_TOO_LARGE', 'content is nested too deeply or has too many strings to screen');
  if (Array.isArray(value)) return value.map((item, i) => copyTree(item, `${path}[${i}]`, leaves, protocol, depth + 1));
  if (value === null || typeof value !== 'object') return value;
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const at = path ? `${path}.${key}` : key;
    const blob = protocol && key === 'blob' && typeof item === 'string' ? blobText(item, (value as Record<string, unknown>)['mimeType']) : undefined;
    if (blob !== undefined) {
      copy[key] = item;
      leaves.push({ path: at, text: blob, set: (v) => (copy[key] = Buffer.from(v, 'utf8').toString('base64')), markable: true });
    } else if (protocol && NOT_TEXT.has(key)) copy[key] = item;
    else if (typeof item === 'string') {
      copy[key] = item;
      leaves.push({ path: at, text: item, set: (v) => (copy[key] = v), markable: protocol && key === 'text' });
    } else copy[key] = copyTree(item, at, leaves, protocol && key !== 'structuredContent', depth + 1);
  }
  return copy;
}

function filterFields(value: Record<string, unknown>, filter: OutputFilter): Record<string, unknown> {
  const keep = filter.keep ? new Set(filter.keep) : undefined;
  const drop = new Set(filter.drop ?? []);
  return Object.fromEntries(Object.entries(value).filter(([key]) => (!keep || keep.has(key)) && !drop.has(key)));
}

/** Applies a tool's output filter to its structured content and to text items that are JSON objects. */
function minimize<T extends object>(result: T, filter: OutputFilter | undefined): T {
  if (!filter) return result;
  const r = result as { content?: unknown; structuredContent?: unknown };
  const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const content = Array.isArray(r.content)
    ? r.content.map((item: unknown) => {
        if (!isRecord(item) || item['type'] !== 'text' || typeof item['text'] !== 'string') return item;
        try {
          const parsed: unknown = JSON.parse(item['text']);
          return isRecord(parsed) ? { ...item, text: JSON.stringify(filterFields(parsed, filter)) } : item;
        } catch {
          return item;
        }
      })
    : r.content;
  return { ...result, ...(content !== undefined ? { content } : {}), ...(isRecord(r.structuredContent) ? { structuredContent: filterFields(r.structuredContent, filter) } : {}) };
}

export function createContentScreen({ screener, actions, tokenize, outputFilters = {} }: ContentScreenOptions): ContentScreen {
  async function screen<T>(value: T, prefix: string, direction: Direction, protocol: boolean): Promise<Screened<T>> {
    const leaves: Leaf[] = [];
    const copy = copyTree(value, prefix, leaves, protocol) as T;
    let total = 0;
    for (const leaf of leaves) total += leaf.text.length;
    if (total * 3 > screener.maxBytes) {
      const bytes = leaves.reduce((sum, leaf) => sum + Buffer.byteLength(leaf.text, 'utf8'), 0);
      if (bytes > screener.maxBytes) throw tooLarge(bytes, screener.maxBytes);
    }
    const perLeaf = leaves.map((leaf) => screener.scan(leaf.text, direction));
    const findings = leaves.flatMap((leaf, i) => perLeaf[i]!.map((f) => ({ ...f, path: leaf.path })));
    const outcome = outcomeOf(findings, direction, actions);
    if (outcome === 'allow' || outcome === 'block' || outcome === 'approve') return { value, findings, outcome };
    for (const [i, leaf] of leaves.entries()) {
      const own = perLeaf[i]!;
      if (own.length === 0) continue;
      const table = leaf.markable ? actions : { ...actions, [direction]: { ...actions[direction], ...markless(actions[direction]) } };
      leaf.set(await applyActions(leaf.text, own, direction, table, tokenize));
    }
    return { value: copy, findings, outcome };
  }
  return {
    input: (args) => screen(args, 'arguments', 'input', false),
    output: (result, tool) => screen(minimize(result, tool ? outputFilters[tool] : undefined), '', 'output', true),
  };
}

/** Marking applies to a whole tool output text; elsewhere a `mark` action leaves the string as it is. */
function markless(table: ActionTable[Direction]): Partial<ActionTable[Direction]> {
  return Object.fromEntries(Object.entries(table).map(([category, action]) => [category, action === 'mark' ? 'allow' : action]));
}
