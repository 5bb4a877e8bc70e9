import type { JSONSchema7 } from 'json-schema';
import {
  argumentsToFormData,
  errorSchemaFromPaths,
  finalizeArguments,
  isPathSchema,
  prepareSchema,
  pydanticTitle,
  REMOTE_PATH_WIDGET
} from '../schema';

/** What pydantic emits for `distance(start: Location, end: Location)` and friends. */
const LOCATION: JSONSchema7 = {
  title: 'Location',
  type: 'object',
  description: "A point on the Earth's surface.",
  properties: {
    lat: { title: 'Lat', type: 'number', minimum: -90, maximum: 90 },
    lon: { title: 'Lon', type: 'number', minimum: -180, maximum: 180 },
    name: {
      anyOf: [{ type: 'string' }, { type: 'null' }],
      default: null,
      title: 'Name',
      description: 'An optional label.'
    }
  },
  required: ['lat', 'lon']
};

describe('prepareSchema', () => {
  it('inlines $defs, keeps the property description and names fields by argument', () => {
    const { schema } = prepareSchema({
      title: 'distance',
      type: 'object',
      $defs: { Location: LOCATION },
      properties: {
        start: { $ref: '#/$defs/Location', description: 'Where to start.' }
      },
      required: ['start']
    });
    expect(schema.$defs).toBeUndefined();
    expect(schema.title).toBeUndefined();
    const start = schema.properties!.start as JSONSchema7;
    expect(start.type).toBe('object');
    expect(start.title).toBe('start');
    expect(start.description).toBe('Where to start.');
    const lat = start.properties!.lat as JSONSchema7;
    expect(lat).toMatchObject({ title: 'lat', minimum: -90, maximum: 90 });
  });

  it('turns Optional (anyOf with null) into the plain type with no null default', () => {
    const { schema, nullPaths } = prepareSchema({
      type: 'object',
      $defs: { Location: LOCATION },
      properties: {
        near: {
          anyOf: [{ $ref: '#/$defs/Location' }, { type: 'null' }],
          default: null,
          description: 'Sort by distance from here.'
        },
        when: {
          anyOf: [{ type: 'string', format: 'date' }, { type: 'null' }],
          title: 'When'
        }
      },
      required: ['when']
    });
    const near = schema.properties!.near as JSONSchema7;
    expect(near.anyOf).toBeUndefined();
    expect(near.type).toBe('object');
    expect(near.default).toBeUndefined();
    expect(near.title).toBe('near');
    const name = near.properties!.name as JSONSchema7;
    expect(name).toMatchObject({ type: 'string', title: 'name' });
    expect(name.anyOf).toBeUndefined();
    const when = schema.properties!.when as JSONSchema7;
    expect(when).toMatchObject({ type: 'string', format: 'date' });
    // Required but nullable: optional in the form, sent as null when empty.
    expect(schema.required).toEqual([]);
    expect(nullPaths).toEqual([['when']]);
  });

  it('keeps enums (Literal / Enum via $ref) as enums with their default', () => {
    const { schema } = prepareSchema({
      type: 'object',
      $defs: {
        Unit: { title: 'Unit', type: 'string', enum: ['celsius', 'kelvin'] }
      },
      properties: {
        source: { $ref: '#/$defs/Unit', default: 'celsius' },
        style: {
          type: 'string',
          enum: ['plain', 'shout'],
          default: 'plain',
          title: 'Style'
        },
        only: { const: 'x', title: 'Only' }
      }
    });
    expect(schema.properties!.source).toMatchObject({
      enum: ['celsius', 'kelvin'],
      default: 'celsius',
      title: 'source'
    });
    expect(schema.properties!.style).toMatchObject({
      enum: ['plain', 'shout']
    });
    expect(schema.properties!.only).toMatchObject({
      enum: ['x'],
      default: 'x'
    });
  });

  it('converts tuples (prefixItems) to draft-07 item lists', () => {
    const { schema } = prepareSchema({
      type: 'object',
      properties: {
        pair: {
          type: 'array',
          prefixItems: [{ type: 'number' }, { type: 'string' }]
        } as JSONSchema7
      }
    });
    const pair = schema.properties!.pair as JSONSchema7;
    expect(Array.isArray(pair.items)).toBe(true);
    expect(pair.minItems).toBe(2);
  });

  it('keeps recursive models as $ref with their $defs', () => {
    const { schema } = prepareSchema({
      type: 'object',
      $defs: {
        Node: {
          type: 'object',
          properties: {
            children: { type: 'array', items: { $ref: '#/$defs/Node' } }
          }
        }
      },
      properties: { tree: { $ref: '#/$defs/Node' } }
    });
    const tree = schema.properties!.tree as JSONSchema7;
    const children = tree.properties!.children as JSONSchema7;
    expect((children.items as JSONSchema7).$ref).toBe('#/$defs/Node');
    expect(schema.$defs).toBeDefined();
  });

  it("puts a class method's arguments last under a title and marks required fields", () => {
    const { schema, uiSchema } = prepareSchema(
      {
        type: 'object',
        title: 'Accumulator.add_all',
        properties: {
          function: {
            type: 'object',
            title: 'add_all',
            properties: {
              values: {
                type: 'array',
                items: { type: 'number' },
                title: 'Values'
              }
            },
            required: ['values']
          },
          start: { type: 'number', default: 0, title: 'Start' }
        },
        required: ['function']
      },
      { methodTitle: 'Arguments of add_all' }
    );
    expect((schema.properties!.function as JSONSchema7).title).toBe(
      'Arguments of add_all'
    );
    expect(uiSchema['ui:order']).toEqual(['*', 'function']);
    expect(uiSchema.function).toEqual({
      values: { 'ui:title': 'values *', items: { 'ui:label': false } }
    });
    expect(uiSchema.start).toBeUndefined();
  });

  it('drops reST literals from descriptions', () => {
    const { schema } = prepareSchema({
      type: 'object',
      properties: {
        s: { type: 'string', description: 'From ``ST01`` to ``ST08``.' }
      }
    });
    expect((schema.properties!.s as JSONSchema7).description).toBe(
      'From ST01 to ST08.'
    );
  });
});

describe('path fields', () => {
  it('give Path, FilePath and DirectoryPath arguments the remote path widget', () => {
    // What pydantic emits for
    // f(path: Path, data: FilePath, out: DirectoryPath | None = None,
    //   inputs: list[Path] = [], name: str = 'x', site: Site)
    const { schema, uiSchema } = prepareSchema({
      type: 'object',
      $defs: {
        Site: {
          type: 'object',
          title: 'Site',
          properties: {
            root: { type: 'string', format: 'path', title: 'Root' }
          },
          required: ['root']
        }
      },
      properties: {
        path: { type: 'string', format: 'path', title: 'Path' },
        data: { type: 'string', format: 'file-path', title: 'Data' },
        out: {
          anyOf: [
            { type: 'string', format: 'directory-path' },
            { type: 'null' }
          ],
          default: null,
          title: 'Out'
        },
        inputs: {
          type: 'array',
          items: { type: 'string', format: 'path' },
          default: [],
          title: 'Inputs'
        },
        name: { type: 'string', default: 'x', title: 'Name' },
        site: { $ref: '#/$defs/Site' }
      },
      required: ['path', 'data', 'site']
    });
    expect(uiSchema.path).toEqual({
      'ui:title': 'path *',
      'ui:widget': REMOTE_PATH_WIDGET
    });
    expect(uiSchema.data).toEqual({
      'ui:title': 'data *',
      'ui:widget': REMOTE_PATH_WIDGET
    });
    // Optional[DirectoryPath] is simplified to the path string first.
    expect(schema.properties!.out).toMatchObject({
      type: 'string',
      format: 'directory-path'
    });
    expect(uiSchema.out).toEqual({ 'ui:widget': REMOTE_PATH_WIDGET });
    expect(uiSchema.inputs).toEqual({
      items: { 'ui:label': false, 'ui:widget': REMOTE_PATH_WIDGET }
    });
    expect(uiSchema.name).toBeUndefined();
    expect(uiSchema.site).toMatchObject({
      root: { 'ui:widget': REMOTE_PATH_WIDGET }
    });
  });

  it('recognizes only string path formats', () => {
    expect(isPathSchema({ type: 'string', format: 'path' })).toBe(true);
    expect(isPathSchema({ type: 'string', format: 'file-path' })).toBe(true);
    expect(isPathSchema({ type: 'string', format: 'directory-path' })).toBe(
      true
    );
    expect(isPathSchema({ type: 'string', format: 'date' })).toBe(false);
    expect(isPathSchema({ type: 'string' })).toBe(false);
    expect(isPathSchema({ type: 'integer', format: 'path' })).toBe(false);
    expect(isPathSchema(true)).toBe(false);
  });
});

describe('finalizeArguments / argumentsToFormData', () => {
  it('fills required nullable fields with null, also inside lists', () => {
    const paths = [['when'], ['items', '*', 'note']];
    const args = finalizeArguments(
      { items: [{ note: 'a' }, {}], x: undefined },
      paths
    );
    expect(args).toEqual({
      when: null,
      items: [{ note: 'a' }, { note: null }]
    });
    expect(argumentsToFormData(args, paths)).toEqual({
      items: [{ note: 'a' }, {}]
    });
  });
});

describe('errorSchemaFromPaths', () => {
  it("nests the server's errors by path for rjsf extraErrors", () => {
    expect(
      errorSchemaFromPaths([
        { path: ['start', 'lat'], message: 'too big' },
        { path: ['function', 'values', 0], message: 'not a number' },
        { path: [], message: 'bad' }
      ])
    ).toEqual({
      __errors: ['bad'],
      start: { lat: { __errors: ['too big'] } },
      function: { values: { 0: { __errors: ['not a number'] } } }
    });
  });
});

describe('pydanticTitle', () => {
  it('matches pydantic’s generated titles', () => {
    expect(pydanticTitle('a')).toBe('A');
    expect(pydanticTitle('start_date')).toBe('Start Date');
    expect(pydanticTitle('elevation_m')).toBe('Elevation M');
    expect(pydanticTitle('x2y')).toBe('X2Y');
  });
});
