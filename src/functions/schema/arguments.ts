/**
 * Between the form and the call: the arguments sent for the form's data, the
 * form data shown again for arguments that were sent, and the server's schema
 * errors as the form's errors. Pure functions, no DOM.
 */
import type { ErrorSchema } from '@rjsf/utils';
import type { ISchemaError } from '../../shared/errors';

/**
 * A path inside the arguments object; `*` stands for every item of an array
 * (or every value of a dict).
 */
export type ValuePath = ReadonlyArray<string | number>;

/**
 * Path segment standing for every array item or dict value.
 */
export const WILDCARD = '*';

/**
 * The arguments to send for the form's data: required nullable fields left
 * empty become `null`, `undefined` members are dropped.
 */
export function finalizeArguments(
  data: unknown,
  nullPaths: ReadonlyArray<ValuePath>
): Record<string, unknown> {
  const result = (
    data && typeof data === 'object' ? JSON.parse(JSON.stringify(data)) : {}
  ) as Record<string, unknown>;
  for (const path of nullPaths) {
    Private.forEachParent(result, path, (parent, key) => {
      if (!Array.isArray(parent) && parent[key] === undefined) {
        parent[key] = null;
      }
    });
  }
  return result;
}

/**
 * The form data to show for arguments that were sent: the `null`s that the
 * form shows as empty fields are removed again.
 */
export function argumentsToFormData(
  args: Record<string, unknown>,
  nullPaths: ReadonlyArray<ValuePath>
): Record<string, unknown> {
  const result = JSON.parse(JSON.stringify(args)) as Record<string, unknown>;
  for (const path of nullPaths) {
    Private.forEachParent(result, path, (parent, key) => {
      if (!Array.isArray(parent) && parent[key] === null) {
        delete parent[key];
      }
    });
  }
  return result;
}

/**
 * Build rjsf `extraErrors` from the server's `details.errors[{path, message}]`.
 */
export function errorSchemaFromPaths(
  errors: ReadonlyArray<ISchemaError>
): ErrorSchema {
  const result: ErrorSchema = {};
  for (const error of errors) {
    let node: ErrorSchema = result;
    for (const key of error.path ?? []) {
      const k = `${key}`;
      const next = (node as Record<string, ErrorSchema | undefined>)[k] ?? {};
      (node as Record<string, ErrorSchema>)[k] = next;
      node = next;
    }
    node.__errors = [...(node.__errors ?? []), error.message];
  }
  return result;
}

/**
 * A namespace for private helpers.
 */
namespace Private {
  /**
   * Call `fn(parent, key)` for every container the path (minus its last
   * segment) reaches inside `root`.
   */
  export function forEachParent(
    root: unknown,
    path: ValuePath,
    fn: (parent: Record<string, unknown>, key: string | number) => void
  ): void {
    let parents: unknown[] = [root];
    for (const key of path.slice(0, -1)) {
      const next: unknown[] = [];
      for (const p of parents) {
        if (!p || typeof p !== 'object') {
          continue;
        }
        if (key === WILDCARD) {
          next.push(...Object.values(p as Record<string, unknown>));
        } else {
          next.push((p as Record<string, unknown>)[key]);
        }
      }
      parents = next;
    }
    const last = path[path.length - 1];
    for (const p of parents) {
      if (p && typeof p === 'object') {
        fn(p as Record<string, unknown>, last);
      }
    }
  }
}
