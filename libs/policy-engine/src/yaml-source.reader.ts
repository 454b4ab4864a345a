import { type Alias, Document, isAlias, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument, Scalar } from 'yaml';
import type { PolicyError, PolicyErrorCode } from './policy.types';

/** A JSON value as read from a document. */
export type PlainValue = string | number | boolean | null | PlainValue[] | { [key: string]: PlainValue };

/** One `key: value` of a mapping, with the nodes for positions. */
export interface MapEntry {
  readonly key: string;
  readonly keyNode: Node;
  /** The value; an empty value (`key:`) is a null scalar positioned where the value belongs. */
  readonly value: Node;
}

/** Alias resolutions allowed per document: anchors are for sharing a block, not for expansion bombs. */
export const MAX_ALIAS_RESOLUTIONS = 1000;
/** The longest document text read at all (the `PUT /policy` body limit is 1 MiB too). */
export const MAX_DOCUMENT_LENGTH = 1_048_576;
/**
 * The most nodes a document text may hold, estimated before parsing (line breaks + commas + `[`
 * + `{`, a line break right after `,` `[` `{` not counted again): the `yaml` parser takes tens of
 * microseconds a node, so this bounds its time.
 */
export const MAX_DOCUMENT_NODES = 25_000;
/** The deepest nesting of flow collections (`[`, `{`) a document text may have. */
export const MAX_DOCUMENT_DEPTH = 64;
/**
 * The largest a document may be once every alias is replaced by its anchor's content, in units
 * of one per node plus one per character of each scalar: what reading it (and storing the bundle
 * it describes) costs. A plain document measures about its length; aliases cannot multiply it
 * past this.
 */
export const MAX_EXPANDED_SIZE = 1_048_576;

/**
 * A parsed YAML (or JSON) document plus the errors found while reading it. Every error carries the
 * 1-based line and column of the node it is about, found through the `yaml` LineCounter. Aliases
 * (`*name`) are resolved to their anchored node, so a problem inside shared content is reported at
 * the anchor.
 *
 * Bounded before any work that could blow up: a text longer than `MAX_DOCUMENT_LENGTH`, with more
 * than `MAX_DOCUMENT_NODES` nodes or flow nesting deeper than `MAX_DOCUMENT_DEPTH` is refused
 * before it is parsed; a document larger than `MAX_EXPANDED_SIZE` with its aliases expanded is
 * refused before it is read (both `too_large`, and `refused` is true).
 */
export class YamlSource {
  readonly errors: PolicyError[] = [];
  readonly root: Node | null;
  private readonly lineCounter = new LineCounter();
  private readonly doc: Document;
  private aliasResolutions = 0;
  /** Each alias's anchored node, found in one pass in document order (null: no anchor before it). */
  private readonly aliasTargets = new Map<Alias, Node | null>();

  constructor(
    readonly text: string,
    format: 'yaml' | 'json' = 'yaml',
    /** A document built from a value (`YamlSource.fromValue`) instead of parsed from `text`. */
    built?: Document,
  ) {
    const tooLarge = built ? null : prescan(text);
    if (tooLarge) {
      // Not parsed, so the LineCounter knows no lines yet: give it those before the offset.
      this.lineCounter.addNewLine(0);
      for (let i = text.indexOf('\n'); i >= 0 && i < tooLarge.offset; i = text.indexOf('\n', i + 1)) this.lineCounter.addNewLine(i + 1);
      this.error('too_large', tooLarge.message, '', tooLarge.offset);
      this.doc = new Document(null);
      this.root = null;
      return;
    }
    const doc =
      built ??
      parseDocument(text, {
        lineCounter: this.lineCounter,
        prettyErrors: false,
        uniqueKeys: true,
        keepSourceTokens: false,
      });
    for (const problem of [...doc.errors, ...doc.warnings]) {
      this.error(problem.name === 'YAMLWarning' ? 'unsupported_yaml' : 'syntax', problem.message, '', problem.pos[0]);
    }
    if (format === 'json' && !built) this.checkStrictJson();
    this.doc = doc;
    const contents = (doc.contents as Node | null) ?? null;
    const size = this.measure(contents, new Map(), new Map());
    if (size > MAX_EXPANDED_SIZE) {
      const measured = Number.isFinite(size) ? `${size} units` : 'an unbounded size (an alias inside its own anchor)';
      this.error('too_large', `the document expands to ${measured} with its aliases replaced by their anchors' content; at most ${MAX_EXPANDED_SIZE} are read`, '', contents);
      this.root = null;
      return;
    }
    this.root = this.deref(contents) ?? null;
  }

  /**
   * A document for an already-parsed value (a bundle read back from the event log): no text to
   * parse, so about six times faster, and positions are all 1:1. The value is measured first
   * (without building anything) and refused as `too_large` past `MAX_EXPANDED_SIZE`.
   */
  static fromValue(value: unknown): YamlSource {
    const size = valueSize(value, MAX_EXPANDED_SIZE);
    if (size > MAX_EXPANDED_SIZE) {
      const source = new YamlSource('', 'yaml', new Document(null));
      source.error('too_large', `the bundle is larger than ${MAX_EXPANDED_SIZE} units (one per node and per character of each scalar)`, '', 0);
      return source;
    }
    return new YamlSource('', 'yaml', new Document(value));
  }

  /** Whether the document could not be read at all (a syntax error, or too large): nothing else is checked. */
  get refused(): boolean {
    return this.errors.some((error) => error.code === 'syntax' || error.code === 'too_large');
  }

  /** Records an error at a node (its first character) or at a character offset. */
  error(code: PolicyErrorCode, message: string, path: string, at: Node | number | null | undefined): void {
    this.errors.push({ code, message, path, ...this.position(at) });
  }

  /** The errors in document order (line, then column). */
  sortedErrors(): PolicyError[] {
    return [...this.errors].sort((a, b) => a.line - b.line || a.column - b.column);
  }

  /** The 1-based line and column of a node (its first character) or of a character offset. */
  position(at: Node | number | null | undefined): { line: number; column: number } {
    const offset = typeof at === 'number' ? at : (at?.range?.[0] ?? 0);
    const { line, col } = this.lineCounter.linePos(Math.max(0, Math.min(offset, this.text.length)));
    return { line: Math.max(1, line), column: Math.max(1, col) };
  }

  /** The entries of a mapping, reporting non-mappings, non-string keys and keys not in `allowed`. */
  mapping(node: Node | null, path: string, what: string, allowed?: ReadonlySet<string>): MapEntry[] | null {
    if (!isMap(node)) {
      this.error('invalid_type', `${what} must be a mapping`, path, node);
      return null;
    }
    const entries: MapEntry[] = [];
    for (const pair of node.items) {
      const keyNode = pair.key as Node | null;
      if (!isScalar(keyNode) || typeof keyNode.value !== 'string' || keyNode.value === '') {
        this.error('invalid_type', `keys of ${what} must be non-empty strings`, path, keyNode ?? node);
        continue;
      }
      const key = keyNode.value;
      const keyPath = join(path, key);
      if (allowed && !allowed.has(key)) {
        this.error('unknown_key', `unknown key "${key}" in ${what}; expected one of: ${[...allowed].join(', ')}`, keyPath, keyNode);
        continue;
      }
      let value = this.deref(pair.value as Node | null);
      if (value === undefined) continue;
      if (value === null || (isScalar(value) && value.value === null && value.range && value.range[0] === value.range[1])) {
        // An empty value (`key:`) is reported at its key, where the reader looks.
        value = new Scalar(null);
        value.range = keyNode.range;
      }
      entries.push({ key, keyNode, value });
    }
    return entries;
  }

  /** The items of a sequence, or null (with an error) when the node is not one. */
  sequence(node: Node | null, path: string, what: string): Node[] | null {
    if (!isSeq(node)) {
      this.error('invalid_type', `${what} must be a list`, path, node);
      return null;
    }
    const items: Node[] = [];
    for (const item of node.items as (Node | null)[]) {
      const value = this.deref(item);
      if (value !== undefined) items.push(value ?? nullAt(node));
    }
    return items;
  }

  /** The scalar value of a node: string, finite number, boolean or null; undefined (with an error) otherwise. */
  scalar(node: Node | null, path: string, what: string): string | number | boolean | null | undefined {
    if (node === null) return null;
    if (!isScalar(node)) {
      this.error('invalid_type', `${what} must be a scalar`, path, node);
      return undefined;
    }
    const value: unknown = node.value;
    if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
    if (typeof value === 'number' && Number.isFinite(value)) return value;
    this.error('invalid_value', `${what} must be a string, a finite number, a boolean or null`, path, node);
    return undefined;
  }

  /** A string value, or undefined (with an error). */
  string(node: Node | null, path: string, what: string, at?: Node): string | undefined {
    const value = node === null ? undefined : this.scalar(node, path, what);
    if (typeof value === 'string') return value;
    if (value !== undefined || node === null) this.error('invalid_type', `${what} must be a string`, path, node ?? at);
    return undefined;
  }

  /** Any JSON value (for payloads of test jobs); non-finite numbers and nesting deeper than 64 are refused. */
  plain(node: Node | null, path: string, what: string, depth = 0): PlainValue | undefined {
    if (node === null) return null;
    if ((isMap(node) || isSeq(node)) && depth >= 64) {
      this.error('invalid_value', `${what} is nested more than 64 levels deep`, path, node);
      return undefined;
    }
    if (isMap(node)) {
      const out: Record<string, PlainValue> = {};
      let ok = true;
      for (const entry of this.mapping(node, path, what) ?? []) {
        const value = this.plain(entry.value, join(path, entry.key), what, depth + 1);
        if (value === undefined) ok = false;
        else setOwn(out, entry.key, value);
      }
      return ok ? out : undefined;
    }
    if (isSeq(node)) {
      const out: PlainValue[] = [];
      let ok = true;
      (this.sequence(node, path, what) ?? []).forEach((item, index) => {
        const value = this.plain(item, `${path}[${index}]`, what, depth + 1);
        if (value === undefined) ok = false;
        else out.push(value);
      });
      return ok ? out : undefined;
    }
    return this.scalar(node, path, what);
  }

  /** The node an alias stands for (undefined, with an error, when it cannot be resolved). */
  private deref(node: Node | null): Node | null | undefined {
    if (!isAlias(node)) return node;
    this.aliasResolutions += 1;
    if (this.aliasResolutions > MAX_ALIAS_RESOLUTIONS) {
      if (this.aliasResolutions === MAX_ALIAS_RESOLUTIONS + 1) {
        this.error('unsupported_yaml', `more than ${MAX_ALIAS_RESOLUTIONS} alias uses in one document`, '', node);
      }
      return undefined;
    }
    const target = this.aliasTargets.get(node);
    if (!target) {
      this.error('unsupported_yaml', `alias *${node.source} names no anchor before it`, '', node);
      return undefined;
    }
    return target;
  }

  /**
   * The expanded size of `node` (1 per node, plus the characters of each scalar; an alias counts
   * as its anchor's content), walking the document once in order: it also finds each alias's
   * anchor (the last one of that name before it), which `Alias.resolve` would search the whole
   * document for at every use. An alias inside its own anchor's content is unbounded (Infinity).
   */
  private measure(node: unknown, anchors: Map<string, Node>, sizes: Map<Node, number>): number {
    if (node === null || node === undefined) return 1;
    if (isAlias(node)) {
      const target = anchors.get(node.source) ?? null;
      this.aliasTargets.set(node, target);
      if (target === null) return 1;
      return sizes.get(target) ?? Number.POSITIVE_INFINITY;
    }
    const anchored = node as Node;
    if (anchored.anchor) anchors.set(anchored.anchor, anchored);
    let size = 1;
    if (isScalar(node)) size += String(node.value).length;
    else if (isMap(node)) for (const pair of node.items) size += this.measure(pair.key, anchors, sizes) + this.measure(pair.value, anchors, sizes);
    else if (isSeq(node)) for (const item of node.items) size += this.measure(item, anchors, sizes);
    if (anchored.anchor) sizes.set(anchored, size);
    return size;
  }

  private checkStrictJson(): void {
    try {
      JSON.parse(this.text);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const position = /position (\d+)/.exec(message);
      this.error('syntax', `not valid JSON: ${message}`, '', position ? Number(position[1]) : 0);
    }
  }
}

/**
 * Sets an own, enumerable property, as JSON.parse would: a key named `__proto__` becomes a plain
 * member instead of replacing the prototype (which would silently drop it).
 */
export function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function nullAt(at: Node): Node {
  const node = new Scalar(null);
  node.range = at.range;
  return node;
}

/** `a` + `b` as a document path (`rules[0]` + `when` -> `rules[0].when`). */
export function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** Looks entries of a mapping up by key. */
export function entriesByKey(entries: readonly MapEntry[]): (key: string) => MapEntry | undefined {
  const map = new Map(entries.map((entry) => [entry.key, entry]));
  return (key) => map.get(key);
}

/** Why a document text is refused before parsing (and where), or null. See `YamlSource`. */
function prescan(text: string): { message: string; offset: number } | null {
  if (text.length > MAX_DOCUMENT_LENGTH) return { message: `the document is ${text.length} characters long; at most ${MAX_DOCUMENT_LENGTH} are read`, offset: 0 };
  let nodes = 0;
  let depth = 0;
  let last = 0x0a; // the last character that was not a space, a tab or a carriage return
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0d) continue;
    const previous = last;
    last = c;
    // A line break after `,`, `[` or `{` starts no node of its own (pretty-printed JSON).
    if (c === 0x0a) {
      if (previous !== 0x2c && previous !== 0x5b && previous !== 0x7b) nodes++;
    } else if (c === 0x2c) nodes++;
    else if (c === 0x5b || c === 0x7b) {
      nodes++;
      if (++depth > MAX_DOCUMENT_DEPTH) return { message: `flow collections ([ ], { }) nest deeper than ${MAX_DOCUMENT_DEPTH} levels`, offset: i };
    } else if (c === 0x5d || c === 0x7d) depth = Math.max(0, depth - 1);
    if (nodes > MAX_DOCUMENT_NODES) return { message: `the document holds more than ${MAX_DOCUMENT_NODES} nodes (lines, list items, entries)`, offset: i };
  }
  return null;
}

/** The size of a plain value as `YamlSource` measures documents, counting no further than `limit` + 1. */
function valueSize(value: unknown, limit: number): number {
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0 && size <= limit) {
    const item = stack.pop();
    size += 1;
    if (Array.isArray(item)) for (const element of item) stack.push(element);
    else if (item !== null && typeof item === 'object') {
      for (const [key, element] of Object.entries(item as Record<string, unknown>)) {
        size += 1 + key.length;
        stack.push(element);
      }
    } else size += String(item).length;
  }
  return size;
}
