/**
 * A notebook's parameters cell read as a form (papermill's `parameters` tag):
 * its variables, their values and types, and what is sent back.
 */
import {
  changedParameters,
  parametersSchema,
  parametersSource,
  parseParameters,
  pythonLiteral
} from '../notebook';

const NOTEBOOK = {
  cells: [
    { cell_type: 'markdown', metadata: {}, source: '# Title' },
    {
      cell_type: 'code',
      metadata: { tags: ['parameters'] },
      source: [
        'n = 3  # members\n',
        "label = 'first try'\n",
        'rate: float = 0.5\n',
        'verbose = False\n',
        'path = None\n',
        'sizes = [1, 2, 3]\n',
        'opts = {"a": True}\n',
        'derived = n * 2\n',
        'import math\n',
        'n = 4\n'
      ]
    },
    { cell_type: 'code', metadata: {}, source: 'print(n)' }
  ]
};

describe('the parameters cell', () => {
  it('is the code cell tagged parameters', () => {
    expect(parametersSource(NOTEBOOK)).toContain('n = 3');
    expect(parametersSource({ cells: [] })).toBeNull();
    expect(parametersSource(null)).toBeNull();
  });

  it('reads Python literals', () => {
    expect(pythonLiteral('12')).toBe(12);
    expect(pythonLiteral('-1.5e3')).toBe(-1500);
    expect(pythonLiteral("'it\\'s'")).toBe("it's");
    expect(pythonLiteral('"a\\nb"')).toBe('a\nb');
    expect(pythonLiteral('True')).toBe(true);
    expect(pythonLiteral('None')).toBeNull();
    expect(pythonLiteral("['a', 1, None,]")).toEqual(['a', 1, null]);
    expect(pythonLiteral('n * 2')).toBeUndefined();
  });

  it('gives each variable its last value and type; expressions are left out', () => {
    const params = parseParameters(parametersSource(NOTEBOOK) ?? '');
    expect(params.map(p => [p.name, p.type, p.value])).toEqual([
      ['n', 'integer', 4],
      ['label', 'string', 'first try'],
      ['rate', 'number', 0.5],
      ['verbose', 'boolean', false],
      ['path', 'null', null],
      ['sizes', 'array', [1, 2, 3]],
      ['opts', 'object', { a: true }]
    ]);
  });

  it('is a form with the current values as defaults', () => {
    const schema = parametersSchema(
      parseParameters(parametersSource(NOTEBOOK) ?? '')
    );
    expect(schema.properties?.n).toEqual({
      type: 'integer',
      title: 'n',
      default: 4
    });
    expect(schema.properties?.sizes).toEqual({
      type: 'string',
      title: 'sizes',
      description: 'JSON',
      default: '[1,2,3]'
    });
    expect(schema.properties?.path).toEqual({ type: 'string', title: 'path' });
  });

  it('sends only what changed, lists read from their JSON', () => {
    const params = parseParameters(parametersSource(NOTEBOOK) ?? '');
    expect(
      changedParameters(params, {
        n: 4,
        label: 'second',
        sizes: '[1, 2]',
        opts: '{bad',
        path: ''
      })
    ).toEqual({ label: 'second', sizes: [1, 2] });
  });
});
