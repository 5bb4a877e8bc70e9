import type { JSONSchema7 } from 'json-schema';
import {
  isPythonIdentifier,
  pythonIdentifier,
  pythonLiteral,
  withoutKnownSetup,
  pythonSnippet
} from '../python';

describe('pythonSnippet', () => {
  it('writes a function call for the notebook client', () => {
    expect(
      pythonSnippet({
        backend: 'examples',
        spec: { name: 'add', kind: 'function', class_name: null, method: null },
        arguments: { a: 1, b: 2 }
      })
    ).toBe(
      'from jupyter_rpc import connect\nexamples = connect("examples")\nexamples.add(a=1, b=2)'
    );
  });

  it('writes a class method with constructor and method arguments, floats as floats', () => {
    const schema: JSONSchema7 = {
      type: 'object',
      properties: {
        start: { type: 'number', default: 0 },
        function: {
          type: 'object',
          properties: { values: { type: 'array', items: { type: 'number' } } }
        }
      }
    };
    expect(
      pythonSnippet({
        backend: 'examples',
        spec: {
          name: 'Accumulator.add_all',
          kind: 'method',
          class_name: 'Accumulator',
          method: 'add_all',
          schema
        },
        arguments: { start: 10, function: { values: [1, 2.5] } }
      })
    ).toBe(
      'from jupyter_rpc import connect\nexamples = connect("examples")\n' +
        'examples.Accumulator(start=10.0).add_all(values=[1.0, 2.5])'
    );
  });

  it('assigns a backend name that is no identifier to a sanitized variable', () => {
    const code = pythonSnippet({
      backend: 'my-backend',
      functionName: 'run',
      arguments: {}
    });
    expect(code).toBe(
      'from jupyter_rpc import connect\nmy_backend = connect("my-backend")\nmy_backend.run()'
    );
  });

  it('passes argument names that are no identifiers as **{...}', () => {
    const code = pythonSnippet({
      backend: 'b',
      functionName: 'f',
      arguments: { ok: 1, 'not-ok': 2, class: 3 }
    });
    expect(code.split('\n')[2]).toBe('b.f(ok=1, **{"not-ok": 2, "class": 3})');
  });
});

describe('pythonLiteral', () => {
  it('writes Python literals', () => {
    expect(pythonLiteral(null)).toBe('None');
    expect(pythonLiteral(true)).toBe('True');
    expect(pythonLiteral(false)).toBe('False');
    expect(pythonLiteral('say "hi"\n')).toBe('"say \\"hi\\"\\n"');
    expect(pythonLiteral({ a: [1, null], b: { c: 'x' } })).toBe(
      '{"a": [1, None], "b": {"c": "x"}}'
    );
    expect(pythonLiteral(3, { type: 'number' })).toBe('3.0');
    expect(pythonLiteral(3, { type: 'integer' })).toBe('3');
    expect(pythonLiteral(1e21, { type: 'number' })).toBe('1e+21');
    expect(
      pythonLiteral(2, { anyOf: [{ type: 'number' }, { type: 'null' }] })
    ).toBe('2.0');
  });

  it('follows $refs to know float fields of nested models', () => {
    const root: JSONSchema7 = {
      $defs: {
        P: { type: 'object', properties: { x: { type: 'number' } } }
      },
      properties: { p: { $ref: '#/$defs/P' } }
    };
    expect(pythonLiteral({ x: 1 }, { $ref: '#/$defs/P' }, root)).toBe(
      '{"x": 1.0}'
    );
  });
});

describe('identifiers', () => {
  it('knows identifiers and makes them', () => {
    expect(isPythonIdentifier('examples')).toBe(true);
    expect(isPythonIdentifier('my-backend')).toBe(false);
    expect(isPythonIdentifier('class')).toBe(false);
    expect(pythonIdentifier('2d')).toBe('_2d');
    expect(pythonIdentifier('lambda')).toBe('lambda_');
    expect(pythonIdentifier('---', 'backend')).toBe('backend');
  });
});

describe('withoutKnownSetup', () => {
  const code =
    'from jupyter_rpc import connect\nexamples = connect("examples")\nexamples.add(a=1, b=2)';

  it('keeps the setup lines in a notebook without them', () => {
    expect(withoutKnownSetup(code, ['print(1)'])).toBe(code);
  });

  it('drops the lines a cell has already, never the call', () => {
    expect(withoutKnownSetup(code, [code])).toBe('examples.add(a=1, b=2)');
    expect(withoutKnownSetup(code, ['from jupyter_rpc import connect\n'])).toBe(
      'examples = connect("examples")\nexamples.add(a=1, b=2)'
    );
  });
});
