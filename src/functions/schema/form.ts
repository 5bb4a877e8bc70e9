/**
 * Turn the JSON Schema pydantic emits for a function's arguments into one that
 * rjsf renders as a friendly form. Pure functions, no DOM.
 */
import type { ReadonlyJSONObject } from '@lumino/coreutils';
import type { UiSchema } from '@rjsf/utils';
import type { JSONSchema7, JSONSchema7Definition } from 'json-schema';
import { WILDCARD } from './arguments';
import type { ValuePath } from './arguments';
import { isGeoSchema } from '../../maps/geo';
import { isNullSchema, lookupRef } from './resolve';
import type { Schema } from './resolve';

/**
 * The rjsf widget name of path fields (a text input with a "Browse…" button
 * that picks a file on a cluster); the form registers it.
 */
export const REMOTE_PATH_WIDGET = 'remotePath';

/**
 * The rjsf field name of geo parameters (a map with the value as text
 * beside it, `src/maps/GeoField.tsx`); the form registers it.
 */
export const GEO_FIELD = 'geoMap';

/**
 * The JSON Schema `format`s of paths: pydantic's `Path`, `FilePath` and
 * `DirectoryPath`.
 */
export const PATH_FORMATS: ReadonlyArray<string> = [
  'path',
  'file-path',
  'directory-path'
];

/**
 * Whether a schema is a string holding a path (`format: "path"`, `"file-path"`
 * or `"directory-path"`).
 */
export function isPathSchema(
  schema: JSONSchema7Definition | undefined
): boolean {
  return (
    typeof schema === 'object' &&
    (schema.type === 'string' || schema.type === undefined) &&
    typeof schema.format === 'string' &&
    PATH_FORMATS.includes(schema.format)
  );
}

/**
 * Options of {@link prepareSchema}.
 */
export interface IPrepareOptions {
  /** Title of the `function` property of a class method's schema. */
  methodTitle?: string;
  /** Title of the constructor arguments of a class method. */
  methodProperty?: string;
}

/**
 * A schema ready for the form.
 */
export interface IPreparedSchema {
  /** The schema with `$ref`s inlined and `Optional`s simplified. */
  schema: JSONSchema7;
  uiSchema: UiSchema<ReadonlyJSONObject>;
  /**
   * Required fields that accept `null`: the form treats absence as `null`, so
   * {@link finalizeArguments} fills them in.
   */
  nullPaths: ValuePath[];
  /**
   * The descriptions as written (reST/Markdown), by the plain text the form shows:
   * the form renders them as the notebook renders Markdown (schema/description.ts).
   */
  descriptions?: Record<string, string>;
}

/**
 * Prepare a pydantic JSON Schema for rjsf:
 * - inline `$ref`s to `$defs` (recursive models keep their `$ref`),
 * - `anyOf: [X, {type: null}]` (Optional) becomes `X`; absence means `null`,
 * - `const` becomes a one-value `enum`, `prefixItems` (tuples) become `items: [...]`,
 * - pydantic's generated titles (`Start Date`) become the argument's name (`start_date`),
 * - reST ``literals`` in descriptions become plain text (as written in
 *   `descriptions`, which the panel renders as Markdown),
 * - the root title/description go (the panel shows the docstring),
 * - a class method's `function` property is shown last, with `methodTitle`,
 * - required fields without a default get a `*` after their label, items of
 *   lists of plain values no label of their own, paths (`format: "path"`,
 *   `"file-path"`, `"directory-path"`) the {@link REMOTE_PATH_WIDGET} (uiSchema).
 */
export function prepareSchema(
  source: JSONSchema7,
  options: IPrepareOptions = {}
): IPreparedSchema {
  const root = JSON.parse(JSON.stringify(source)) as Schema;
  const defs: Record<string, JSONSchema7Definition> = {
    ...(root.definitions ?? {}),
    ...(root.$defs ?? {})
  };
  const nullPaths: ValuePath[] = [];
  const descriptions: Record<string, string> = {};
  const ctx: Private.IContext = {
    defs,
    nullPaths,
    recursive: false,
    descriptions
  };
  const schema = Private.transform(root, [], ctx, []) as Schema;
  delete schema.title;
  delete schema.description;
  if (ctx.recursive) {
    // Keep the definitions that recursive `$ref`s still point to.
    if (root.$defs) {
      schema.$defs = root.$defs;
    }
    if (root.definitions) {
      schema.definitions = root.definitions;
    }
  } else {
    delete schema.$defs;
    delete schema.definitions;
  }
  const uiSchema = Private.requiredMarks(schema);
  const fn = schema.properties?.function;
  if (fn && typeof fn === 'object' && options.methodTitle !== undefined) {
    fn.title = options.methodTitle;
    uiSchema['ui:order'] = ['*', 'function'];
    const fnUi = uiSchema.function as UiSchema | undefined;
    if (fnUi) {
      delete fnUi['ui:title'];
    }
  }
  return { schema, uiSchema, nullPaths, descriptions };
}

/**
 * The title pydantic generates for a field name (`start_date` → `Start Date`).
 */
export function pydanticTitle(name: string): string {
  // Python's str.title(): upper-case a letter after a non-letter, lower-case others.
  let out = '';
  let prevLetter = false;
  for (const ch of name) {
    const isLetter = ch.toLowerCase() !== ch.toUpperCase();
    out += isLetter ? (prevLetter ? ch.toLowerCase() : ch.toUpperCase()) : ch;
    prevLetter = isLetter;
  }
  return out.replace(/_/g, ' ').trim();
}

/**
 * A namespace for private helpers.
 */
namespace Private {
  export interface IContext {
    defs: Record<string, JSONSchema7Definition>;
    nullPaths: ValuePath[];
    /** Whether a recursive `$ref` was kept. */
    recursive: boolean;
    /** The descriptions as written, by their plain text. */
    descriptions?: Record<string, string>;
  }

  /**
   * Transform one schema node; `path` is where its value sits in the arguments,
   * `stack` the `$defs` names being inlined (to stop at recursion).
   */
  export function transform(
    node: JSONSchema7Definition,
    path: ValuePath,
    ctx: IContext,
    stack: string[]
  ): JSONSchema7Definition {
    if (typeof node !== 'object') {
      return node;
    }
    let s: Schema = { ...node };

    // Inline `$ref` (siblings such as description/default win over the target).
    if (s.$ref) {
      const match = /^#\/(?:\$defs|definitions)\/(.+)$/.exec(s.$ref);
      const name = match ? match[1] : s.$ref;
      const target = lookupRef(s.$ref, ctx.defs);
      if (!target || stack.includes(name)) {
        ctx.recursive = ctx.recursive || !!target;
        return s;
      }
      const { $ref: _ref, ...rest } = s;
      void _ref;
      const inlined = transform(target, path, ctx, [...stack, name]);
      return typeof inlined === 'object' ? { ...inlined, ...rest } : inlined;
    }

    // A one-element allOf is how some pydantic versions attach a description to a $ref.
    if (s.allOf?.length === 1 && typeof s.allOf[0] === 'object') {
      const { allOf, ...rest } = s;
      s = { ...(allOf[0] as JSONSchema7), ...rest };
      return transform(s, path, ctx, stack);
    }

    let nullable = false;

    // Optional[X]: anyOf/oneOf with a null member.
    for (const key of ['anyOf', 'oneOf'] as const) {
      const union = s[key];
      if (!union || !union.some(isNullSchema)) {
        continue;
      }
      nullable = true;
      const nonNull = union.filter(m => !isNullSchema(m));
      const { [key]: _union, ...rest } = s;
      void _union;
      if (nonNull.length === 1 && typeof nonNull[0] === 'object') {
        const inner = transform(nonNull[0], path, ctx, stack);
        s = typeof inner === 'object' ? { ...inner, ...rest } : rest;
        if (typeof inner === 'object' && inner.title && rest.title) {
          s.title = rest.title;
        }
      } else {
        s = { ...rest, [key]: nonNull };
      }
    }

    // type: ['string', 'null']
    if (Array.isArray(s.type) && s.type.includes('null')) {
      nullable = true;
      const types = s.type.filter(t => t !== 'null');
      s.type = types.length === 1 ? types[0] : types;
    }
    if (Array.isArray(s.enum) && s.enum.includes(null) && s.enum.length > 1) {
      nullable = true;
      s.enum = s.enum.filter(v => v !== null);
    }
    // reST inline literals (``x``) read better as plain text in a form.
    if (typeof s.description === 'string') {
      const written = s.description;
      s.description = written.replace(/``([^`]+)``/g, '$1');
      if (ctx.descriptions) {
        ctx.descriptions[s.description] = written;
      }
    }
    if (nullable && s.default === null) {
      delete s.default;
    }

    // Literal['x'] → a one-option dropdown.
    if (s.const !== undefined && s.enum === undefined) {
      s.enum = [s.const];
      if (s.default === undefined) {
        s.default = s.const;
      }
      delete s.const;
    }

    // Tuples (2020-12 prefixItems) → draft-07 fixed items.
    if (s.prefixItems) {
      const prefix = s.prefixItems;
      delete s.prefixItems;
      s.items = prefix;
      if (s.items.length && s.minItems === undefined) {
        s.minItems = s.items.length;
      }
    }

    if (s.properties) {
      const props: Record<string, JSONSchema7Definition> = {};
      const required = new Set(s.required ?? []);
      for (const [name, prop] of Object.entries(s.properties)) {
        let child = transform(prop, [...path, name], ctx, stack);
        if (typeof child === 'object') {
          child = { ...child };
          // The property's own title, unless pydantic generated it; a title
          // that came with an inlined `$defs` model or enum names the type.
          const own = typeof prop === 'object' ? prop.title : undefined;
          child.title = own && own !== pydanticTitle(name) ? own : name;
          if (required.has(name) && Private.acceptsNull(prop, ctx)) {
            required.delete(name);
            ctx.nullPaths.push([...path, name]);
          }
        }
        props[name] = child;
      }
      s.properties = props;
      if (s.required) {
        s.required = s.required.filter(r => required.has(r));
      }
    }
    if (Array.isArray(s.items)) {
      s.items = s.items.map((it, i) => transform(it, [...path, i], ctx, stack));
    } else if (s.items !== undefined) {
      s.items = transform(s.items, [...path, WILDCARD], ctx, stack);
    }
    if (typeof s.additionalProperties === 'object') {
      s.additionalProperties = transform(
        s.additionalProperties,
        [...path, WILDCARD],
        ctx,
        stack
      );
    }
    for (const key of ['anyOf', 'oneOf'] as const) {
      const union = s[key];
      if (union) {
        s[key] = union.map(m => transform(m, path, ctx, stack));
      }
    }
    return s;
  }

  /**
   * A uiSchema that marks required fields without a default
   * (`ui:title: "a *"`), drops the labels of plain list items and gives paths
   * the {@link REMOTE_PATH_WIDGET}, recursing into object properties.
   */
  export function requiredMarks(
    schema: JSONSchema7
  ): UiSchema<ReadonlyJSONObject> {
    const ui: UiSchema<ReadonlyJSONObject> = {};
    const required = new Set(schema.required ?? []);
    for (const [name, prop] of Object.entries(schema.properties ?? {})) {
      if (typeof prop !== 'object') {
        continue;
      }
      const geo = isGeoSchema(prop);
      const child: UiSchema<ReadonlyJSONObject> =
        prop.properties && !geo ? requiredMarks(prop) : {};
      if (geo) {
        child['ui:field'] = GEO_FIELD;
      }
      if (required.has(name) && prop.default === undefined) {
        child['ui:title'] = `${prop.title ?? name} *`;
      }
      if (isPathSchema(prop)) {
        child['ui:widget'] = REMOTE_PATH_WIDGET;
      }
      const items = prop.items;
      if (
        !geo &&
        items &&
        typeof items === 'object' &&
        !Array.isArray(items) &&
        items.type !== 'object'
      ) {
        // List items of plain values need no "values-0" label each.
        child.items = isPathSchema(items)
          ? { 'ui:label': false, 'ui:widget': REMOTE_PATH_WIDGET }
          : { 'ui:label': false };
      }
      if (Object.keys(child).length) {
        ui[name] = child;
      }
    }
    return ui;
  }

  /**
   * Whether a (raw) property schema admits `null`.
   */
  export function acceptsNull(
    s: JSONSchema7Definition,
    ctx: IContext
  ): boolean {
    if (typeof s !== 'object') {
      return s;
    }
    if (s.$ref) {
      const target = lookupRef(s.$ref, ctx.defs);
      return !!target && acceptsNull(target, ctx);
    }
    if (isNullSchema(s)) {
      return true;
    }
    if (Array.isArray(s.type) && s.type.includes('null')) {
      return true;
    }
    if (Array.isArray(s.enum) && s.enum.includes(null)) {
      return true;
    }
    const union = s.anyOf ?? s.oneOf;
    return !!union && union.some(isNullSchema);
  }
}
