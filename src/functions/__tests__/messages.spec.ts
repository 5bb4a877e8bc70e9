import { humanMessage } from '../messages';

const trans = {
  __: (text: string, ...args: unknown[]) =>
    args.reduce<string>((s, a, i) => s.replace(`%${i + 1}`, String(a)), text)
};

describe('humanMessage', () => {
  it('asks for a missing value by the field’s label', () => {
    expect(
      humanMessage(
        {
          name: 'required',
          params: { missingProperty: 'lon' },
          message: "must have required property 'lon *'"
        },
        trans
      )
    ).toBe('Enter a value for lon');
  });

  it('says the limits as what to enter', () => {
    expect(
      humanMessage({ name: 'maximum', params: { limit: 512 } }, trans)
    ).toBe('Enter 512 or less');
    expect(humanMessage({ name: 'minimum', params: { limit: 1 } }, trans)).toBe(
      'Enter 1 or more'
    );
    expect(
      humanMessage({ name: 'minItems', params: { limit: 2 } }, trans)
    ).toBe('Add at least 2 items');
    expect(
      humanMessage({ name: 'type', params: { type: 'integer' } }, trans)
    ).toBe('Enter a whole number');
    expect(
      humanMessage(
        { name: 'enum', params: { allowedValues: ['C', 'F'] } },
        trans
      )
    ).toBe('Choose one of: C, F');
  });

  it('keeps ajv’s message for other keywords', () => {
    expect(
      humanMessage({ name: 'oneOf', message: 'must match exactly one' }, trans)
    ).toBe('must match exactly one');
  });
});
