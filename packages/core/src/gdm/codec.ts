import { Document, isMap, isScalar, isSeq, parseDocument, stringify, YAMLMap, Scalar, Pair } from 'yaml';
import { usageError } from '../errors';

/**
 * YAML as the original Sous wrote it (go-yaml v2, YAML 1.1): sequences not
 * indented under their key, strings quoted only where a YAML 1.1 reader would
 * misread them, no line folding. Files written by hand or by the original keep
 * their bytes when nothing in them changed: updates are merged into the parsed
 * document instead of re-rendering it.
 */
const TO_STRING = { indentSeq: false, lineWidth: 0, version: '1.1' as const };
const PARSE = { version: '1.1' as const, uniqueKeys: true, prettyErrors: true };

export function parseYaml(text: string, file: string): { doc: Document; value: unknown } {
  const doc = parseDocument(text, PARSE);
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const line = e.linePos?.[0];
    throw usageError('YAML_INVALID', `${file}${line ? `:${line.line}:${line.col}` : ''}: ${e.message.split('\n')[0]}`, {
      file,
      hints: ['Check the indentation and quoting at that line.'],
    });
  }
  return { doc, value: doc.toJS() ?? {} };
}

/** Renders a value freshly, in the key order of the value itself. */
export function renderYaml(value: unknown): string {
  return stringify(value, TO_STRING);
}

/** Renders `value`, keeping every part of `original` that did not change as it was written. */
export function renderYamlUpdate(original: string, value: unknown): string {
  const doc = parseDocument(original, PARSE);
  if (doc.errors.length > 0 || !isMap(doc.contents) || !isPlainObject(value)) return renderYaml(value);
  mergeInto(doc, doc.contents, value);
  return doc.toString(TO_STRING);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function sameScalar(node: Scalar, v: unknown): boolean {
  if (v === null || v === undefined) return node.value === null;
  if (typeof v === 'object') return false;
  return node.value !== null && String(node.value) === String(v);
}

function sameSeq(node: unknown, v: unknown[]): boolean {
  if (!isSeq(node) || node.items.length !== v.length) return false;
  return node.items.every((item, i) => {
    const want = v[i];
    if (isScalar(item)) return sameScalar(item, want);
    return JSON.stringify((item as { toJSON(): unknown }).toJSON()) === JSON.stringify(want);
  });
}

function keyOf(p: Pair): string {
  return isScalar(p.key) ? String(p.key.value) : String(p.key);
}

function mergeInto(doc: Document, map: YAMLMap, value: Record<string, unknown>): void {
  const wanted = Object.keys(value).filter((k) => value[k] !== undefined);
  // Drop keys that are gone.
  map.items = map.items.filter((p) => wanted.includes(keyOf(p)));
  for (let i = 0; i < wanted.length; i++) {
    const k = wanted[i];
    const v = value[k];
    const pair = map.items.find((p) => keyOf(p) === k);
    if (pair) {
      const node = pair.value;
      if (isMap(node) && isPlainObject(v) && (node.items.length > 0 || Object.keys(v).length === 0)) {
        mergeInto(doc, node, v);
      } else if (isScalar(node) && sameScalar(node, v)) {
        // unchanged: keep the node and its style
      } else if (Array.isArray(v) && sameSeq(node, v)) {
        // unchanged
      } else {
        pair.value = doc.createNode(v);
      }
      continue;
    }
    // A new key goes after the nearest key that precedes it in the wanted order.
    const newPair = doc.createPair(k, v) as Pair;
    let at = 0;
    for (let j = i - 1; j >= 0; j--) {
      const idx = map.items.findIndex((p) => keyOf(p) === wanted[j]);
      if (idx >= 0) {
        at = idx + 1;
        break;
      }
    }
    map.items.splice(at, 0, newPair);
  }
}
