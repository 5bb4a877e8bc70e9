/**
 * A notebook's parameters cell (papermill's convention: the code cell tagged
 * `parameters`) read as a form: each `name = literal` line a field with its
 * current value as the default and its type. Pure, no DOM.
 */
import type { JSONSchema7 } from 'json-schema';

/**
 * One variable of the parameters cell.
 */
export interface INotebookParameter {
  name: string;
  /** Its value in the cell (JSON), or the text when it is no literal. */
  value: unknown;
  type:
    'integer' | 'number' | 'string' | 'boolean' | 'null' | 'array' | 'object';
}

/**
 * The source of the code cell tagged `parameters`, or `null`.
 */
export function parametersSource(notebook: unknown): string | null {
  const cells = (notebook as { cells?: unknown })?.cells;
  if (!Array.isArray(cells)) {
    return null;
  }
  for (const cell of cells as Array<Record<string, unknown>>) {
    const tags = (cell?.metadata as { tags?: unknown } | undefined)?.tags;
    if (
      cell?.cell_type === 'code' &&
      Array.isArray(tags) &&
      tags.includes('parameters')
    ) {
      const source = cell.source;
      return Array.isArray(source) ? source.join('') : String(source ?? '');
    }
  }
  return null;
}

/**
 * A Python literal as JSON: numbers, strings, `True`/`False`/`None`, lists
 * and dicts of those; `undefined` for anything else (an expression).
 */
export function pythonLiteral(text: string): unknown {
  const t = text.trim();
  if (/^[-+]?\d+$/.test(t)) {
    return Number(t);
  }
  if (/^[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$/.test(t)) {
    return Number(t);
  }
  if (t === 'True') {
    return true;
  }
  if (t === 'False') {
    return false;
  }
  if (t === 'None') {
    return null;
  }
  const single = /^'((?:[^'\\]|\\.)*)'$/.exec(t);
  if (single) {
    return single[1].replace(/\\'/g, "'").replace(/\\\\/g, '\\');
  }
  const double = /^"((?:[^"\\]|\\.)*)"$/.exec(t);
  if (double) {
    try {
      return JSON.parse(t);
    } catch {
      return double[1];
    }
  }
  if (/^[[{]/.test(t)) {
    const json = t
      .replace(/\bTrue\b/g, 'true')
      .replace(/\bFalse\b/g, 'false')
      .replace(/\bNone\b/g, 'null')
      .replace(/'/g, '"')
      .replace(/,\s*([\]}])/g, '$1');
    try {
      return JSON.parse(json);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * The variables the parameters cell sets (`name = literal`, one per line;
 * comments, blank lines and expressions left out).
 */
export function parseParameters(source: string): INotebookParameter[] {
  const found: INotebookParameter[] = [];
  const seen = new Set<string>();
  for (const raw of source.split('\n')) {
    const line = raw.replace(/\s+#.*$/, '').trimEnd();
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*(?::\s*[^=]+)?=\s*(.+)$/.exec(line);
    if (!m || m[2].startsWith('=')) {
      continue;
    }
    const value = pythonLiteral(m[2]);
    if (value === undefined) {
      continue;
    }
    let type: INotebookParameter['type'];
    if (value === null) {
      type = 'null';
    } else if (Array.isArray(value)) {
      type = 'array';
    } else if (typeof value === 'number') {
      type =
        Number.isInteger(value) && !/[.eE]/.test(m[2]) ? 'integer' : 'number';
    } else {
      type = typeof value as INotebookParameter['type'];
    }
    if (seen.has(m[1])) {
      const i = found.findIndex(p => p.name === m[1]);
      found[i] = { name: m[1], value, type };
    } else {
      seen.add(m[1]);
      found.push({ name: m[1], value, type });
    }
  }
  return found;
}

/**
 * The form of the parameters: each a field of its type with its value in
 * the cell as the default (`None`: any text, left empty).
 */
export function parametersSchema(
  parameters: ReadonlyArray<INotebookParameter>
): JSONSchema7 {
  const properties: Record<string, JSONSchema7> = {};
  for (const p of parameters) {
    if (p.type === 'null') {
      properties[p.name] = { type: 'string', title: p.name };
    } else if (p.type === 'array' || p.type === 'object') {
      properties[p.name] = {
        type: 'string',
        title: p.name,
        description: 'JSON',
        default: JSON.stringify(p.value)
      };
    } else {
      properties[p.name] = {
        type: p.type,
        title: p.name,
        default: p.value as string | number | boolean
      };
    }
  }
  return { type: 'object', properties };
}

/**
 * The values to send for the parameters: those that differ from the cell's,
 * lists and dicts read back from their JSON text.
 */
export function changedParameters(
  parameters: ReadonlyArray<INotebookParameter>,
  values: Record<string, unknown>
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of parameters) {
    let v = values[p.name];
    if (v === undefined || v === '') {
      continue;
    }
    if ((p.type === 'array' || p.type === 'object') && typeof v === 'string') {
      try {
        v = JSON.parse(v);
      } catch {
        continue;
      }
    }
    if (JSON.stringify(v) !== JSON.stringify(p.value)) {
      out[p.name] = v;
    }
  }
  return out;
}
