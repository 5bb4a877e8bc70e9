/**
 * "Copy as Python": the notebook-client code for a call. Pure functions.
 */
import type { JSONSchema7 } from 'json-schema';
import type { IFunctionSpec } from './api';
import { childSchema, resolveSchema } from './schema';

/**
 * Python's reserved words (a backend or argument name must not be one).
 */
const KEYWORDS = new Set([
  'False',
  'None',
  'True',
  'and',
  'as',
  'assert',
  'async',
  'await',
  'break',
  'class',
  'continue',
  'def',
  'del',
  'elif',
  'else',
  'except',
  'finally',
  'for',
  'from',
  'global',
  'if',
  'import',
  'in',
  'is',
  'lambda',
  'nonlocal',
  'not',
  'or',
  'pass',
  'raise',
  'return',
  'try',
  'while',
  'with',
  'yield'
]);

/**
 * What a snippet is generated from.
 */
export interface ISnippetOptions {
  /** Backend name as configured (`examples`, `my-backend`). */
  backend: string;
  /** The function's spec; without it the call is written as a plain function. */
  spec?: Pick<IFunctionSpec, 'name' | 'kind' | 'class_name' | 'method'> & {
    schema?: JSONSchema7;
  };
  /** Function name (used when `spec` is missing). */
  functionName?: string;
  /** The call's arguments (for a method: constructor arguments + `function`). */
  arguments: Record<string, unknown>;
}

/**
 * The Python code that makes the same call with the notebook client:
 *
 * ```python
 * from jupyter_rpc import connect
 * examples = connect("examples")
 * examples.add(a=1, b=2)
 * ```
 */
export function pythonSnippet(options: ISnippetOptions): string {
  const variable = pythonIdentifier(options.backend, 'backend');
  const spec = options.spec;
  const root: JSONSchema7 = spec?.schema ?? {};
  let call: string;
  if (spec?.kind === 'method' && spec.class_name && spec.method) {
    const { function: methodArgs, ...ctorArgs } = options.arguments;
    const methodSchema = childSchema(root, 'function', root);
    const fnArgs =
      methodArgs && typeof methodArgs === 'object' && !Array.isArray(methodArgs)
        ? (methodArgs as Record<string, unknown>)
        : {};
    call =
      `${variable}.${spec.class_name}(${keywordArguments(ctorArgs, root, root)})` +
      `.${spec.method}(${keywordArguments(fnArgs, methodSchema, root)})`;
  } else {
    const name = spec?.name ?? options.functionName ?? '';
    call = `${variable}.${name}(${keywordArguments(options.arguments, root, root)})`;
  }
  return [
    'from jupyter_rpc import connect',
    `${variable} = connect(${pythonString(options.backend)})`,
    call
  ].join('\n');
}

/**
 * A JSON value as a Python literal. With a schema, whole numbers of `type:
 * number` are written as floats (`10.0`), as pydantic would return them.
 */
export function pythonLiteral(
  value: unknown,
  schema?: JSONSchema7,
  root: JSONSchema7 = schema ?? {}
): string {
  if (value === null || value === undefined) {
    return 'None';
  }
  if (value === true) {
    return 'True';
  }
  if (value === false) {
    return 'False';
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      return value > 0
        ? 'float("inf")'
        : value < 0
          ? 'float("-inf")'
          : 'float("nan")';
    }
    const s = resolveSchema(schema, root);
    const isFloat =
      s?.type === 'number' ||
      (Array.isArray(s?.type) &&
        s.type.includes('number') &&
        !s.type.includes('integer'));
    const text = String(value);
    return isFloat && Number.isInteger(value) && !/e/i.test(text)
      ? `${text}.0`
      : text;
  }
  if (typeof value === 'string') {
    return pythonString(value);
  }
  if (Array.isArray(value)) {
    const items = value.map((v, i) =>
      pythonLiteral(v, childSchema(schema, i, root), root)
    );
    return `[${items.join(', ')}]`;
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .map(
        ([k, v]) =>
          `${pythonString(k)}: ${pythonLiteral(v, childSchema(schema, k, root), root)}`
      );
    return `{${entries.join(', ')}}`;
  }
  return pythonString(String(value));
}

/**
 * A string as a Python literal (JSON escaping is valid Python escaping).
 */
export function pythonString(value: string): string {
  return JSON.stringify(value);
}

/**
 * Whether a name can be used as a Python identifier (ASCII only, not a keyword).
 */
export function isPythonIdentifier(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !KEYWORDS.has(name);
}

/**
 * A valid Python variable name for any string (`my-backend` → `my_backend`).
 */
export function pythonIdentifier(name: string, fallback = 'value'): string {
  let id = name.replace(/[^A-Za-z0-9_]/g, '_');
  if (!id || /^_*$/.test(id)) {
    id = fallback;
  }
  if (/^[0-9]/.test(id)) {
    id = `_${id}`;
  }
  if (KEYWORDS.has(id)) {
    id = `${id}_`;
  }
  return id;
}

/**
 * `a=1, b="x"`; names that are not identifiers go into a trailing `**{...}`.
 */
function keywordArguments(
  args: Record<string, unknown>,
  schema: JSONSchema7 | undefined,
  root: JSONSchema7
): string {
  const parts: string[] = [];
  const odd: string[] = [];
  for (const [name, value] of Object.entries(args)) {
    if (value === undefined) {
      continue;
    }
    const literal = pythonLiteral(value, childSchema(schema, name, root), root);
    if (isPythonIdentifier(name)) {
      parts.push(`${name}=${literal}`);
    } else {
      odd.push(`${pythonString(name)}: ${literal}`);
    }
  }
  if (odd.length) {
    parts.push(`**{${odd.join(', ')}}`);
  }
  return parts.join(', ');
}

/**
 * `code` without its setup lines (the import and `connect` lines, all but
 * the last) that the notebook runs already: a line is dropped when a cell
 * (`sources`) has the same line, so "Insert into notebook" repeats no import.
 */
export function withoutKnownSetup(
  code: string,
  sources: ReadonlyArray<string>
): string {
  const known = new Set(
    sources.flatMap(source => source.split('\n').map(line => line.trim()))
  );
  const lines = code.split('\n');
  const last = lines.length - 1;
  return lines
    .filter((line, i) => i === last || !known.has(line.trim()))
    .join('\n');
}
