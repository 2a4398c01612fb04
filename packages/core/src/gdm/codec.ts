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
    throw usageError('YAML_INVALID', `${file}${line ? `:${line.line}:${line.col}` : ''}: ${e.message.split('\n')[0].replace(/:$/, '')}`, {
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

/**
 * Says which maps of a document are records of fields (a manifest, a deploy
 * spec, its Startup) rather than maps of names (Deployments, Env, Resources):
 * in a record, a field the canonical form leaves out because it is empty
 * (`Env: {}`, `Timeout: 0`) means the same as the empty field in the file.
 */
export type FieldRecords = (path: readonly string[]) => boolean;

/** The records of fields in a manifest: the manifest, each deploy spec and its Startup. */
export const MANIFEST_RECORDS: FieldRecords = (p) => p.length === 0 || (p[0] === 'Deployments' && (p.length === 2 || (p.length === 3 && p[2] === 'Startup')));

/** The records of fields in defs.yaml: the file, each cluster and its Startup. */
export const DEFS_RECORDS: FieldRecords = (p) => p.length === 0 || (p[0] === 'Clusters' && (p.length === 2 || (p.length === 3 && p[2] === 'Startup')));

/**
 * Renders `value`, keeping every part of `original` that did not change as it
 * was written; in the maps `records` names, an empty field that `value` leaves
 * out stays as written too, so writing back what was read changes no byte.
 */
export function renderYamlUpdate(original: string, value: unknown, records: FieldRecords = () => false): string {
  const doc = parseDocument(original, PARSE);
  if (doc.errors.length > 0 || !isMap(doc.contents) || !isPlainObject(value)) return renderYaml(value);
  mergeInto(doc, doc.contents, value, [], records);
  return doc.toString(TO_STRING);
}

/** An empty value as YAML wrote it: null, "", 0, false, an empty sequence, or a map of only such values. */
function isEmptyNode(node: unknown): boolean {
  if (node === null || node === undefined) return true;
  if (isScalar(node)) return node.value === null || node.value === '' || node.value === 0 || node.value === false;
  if (isSeq(node)) return node.items.length === 0;
  if (isMap(node)) return node.items.every((p) => isEmptyNode(p.value));
  return false;
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

function mergeInto(doc: Document, map: YAMLMap, value: Record<string, unknown>, path: string[], records: FieldRecords): void {
  const wanted = Object.keys(value).filter((k) => value[k] !== undefined);
  // Drop keys that are gone (an empty field of a record is not gone: it says what its absence says).
  const record = records(path);
  map.items = map.items.filter((p) => wanted.includes(keyOf(p)) || (record && isEmptyNode(p.value)));
  for (let i = 0; i < wanted.length; i++) {
    const k = wanted[i];
    const v = value[k];
    const pair = map.items.find((p) => keyOf(p) === k);
    if (pair) {
      const node = pair.value;
      if (isMap(node) && isPlainObject(v) && (node.items.length > 0 || Object.keys(v).length === 0)) {
        mergeInto(doc, node, v, [...path, k], records);
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
