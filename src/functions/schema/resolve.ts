/**
 * Reading a pydantic JSON Schema: `$ref`s to its definitions, `Optional`s
 * (`anyOf` with `null`), and the schema of a value inside another. Pure
 * functions, used by the form ({@link prepareSchema}) and by the Python
 * snippets (`python.ts`).
 */
import type { JSONSchema7, JSONSchema7Definition } from 'json-schema';

/**
 * A JSON Schema with the 2020-12 keywords pydantic uses.
 */
export type Schema = JSONSchema7 & {
  prefixItems?: JSONSchema7Definition[];
};

/**
 * The schema of the value at `key` inside `schema` (a property, an array item or
 * a dict value), with `$ref`s resolved against `root`.
 */
export function childSchema(
  schema: JSONSchema7 | undefined,
  key: string | number,
  root: JSONSchema7
): JSONSchema7 | undefined {
  const s = resolveSchema(schema, root);
  if (!s) {
    return undefined;
  }
  let child: JSONSchema7Definition | undefined;
  if (typeof key === 'number') {
    const prefix = (s as Schema).prefixItems;
    if (prefix && key < prefix.length) {
      child = prefix[key];
    } else if (Array.isArray(s.items)) {
      child = s.items[key];
    } else {
      child = s.items;
    }
  } else {
    child = s.properties?.[key];
    if (child === undefined && typeof s.additionalProperties === 'object') {
      child = s.additionalProperties;
    }
  }
  return typeof child === 'object' ? resolveSchema(child, root) : undefined;
}

/**
 * Resolve a schema's `$ref` (to `#/$defs/...` or `#/definitions/...`) and unwrap
 * `Optional` (`anyOf` with a `null` member) and one-element `allOf`.
 */
export function resolveSchema(
  schema: JSONSchema7 | undefined,
  root: JSONSchema7
): JSONSchema7 | undefined {
  let s = schema;
  for (let i = 0; s && i < 32; i++) {
    if (s.$ref) {
      const { $ref, ...rest } = s;
      const target = lookupRef($ref, {
        ...(root.definitions ?? {}),
        ...(root.$defs ?? {})
      });
      if (!target) {
        return rest;
      }
      s = { ...target, ...rest };
      continue;
    }
    const union = s.anyOf ?? s.oneOf;
    if (union) {
      const nonNull = union.filter(m => !isNullSchema(m));
      if (nonNull.length === 1 && typeof nonNull[0] === 'object') {
        s = nonNull[0];
        continue;
      }
    }
    if (s.allOf?.length === 1 && typeof s.allOf[0] === 'object') {
      s = s.allOf[0];
      continue;
    }
    break;
  }
  return s;
}

/**
 * The definition a local `$ref` points to.
 */
export function lookupRef(
  ref: string,
  defs: Record<string, JSONSchema7Definition>
): JSONSchema7 | undefined {
  const match = /^#\/(?:\$defs|definitions)\/(.+)$/.exec(ref);
  if (!match) {
    return undefined;
  }
  const name = match[1].replace(/~1/g, '/').replace(/~0/g, '~');
  const target = defs[name];
  return typeof target === 'object' ? target : undefined;
}

/**
 * Whether a schema only admits `null`.
 */
export function isNullSchema(s: JSONSchema7Definition): boolean {
  return (
    typeof s === 'object' &&
    (s.type === 'null' || (s.enum?.length === 1 && s.enum[0] === null))
  );
}
