import { docToMarkdown, plainSummary, reflow } from '../DocText';

describe('reflow', () => {
  it('joins wrapped lines, keeps paragraphs and list lines', () => {
    expect(
      reflow(
        'A line chart\nof temperatures.\n\nThe data are made\nup.\n- one\n- two'
      )
    ).toEqual([
      'A line chart of temperatures.',
      'The data are made up.\n- one\n- two'
    ]);
  });
});

describe('plainSummary', () => {
  it('drops reST literals', () => {
    expect(plainSummary('Divide ``a`` by ``b``.')).toBe('Divide a by b.');
  });
});

describe('docToMarkdown', () => {
  it('turns numpy sections into bold titles and lists', () => {
    const doc = [
      'Convert a temperature.',
      '',
      'Parameters',
      '----------',
      'value : float',
      '    The temperature',
      '    to convert.',
      'source : Unit',
      '    The unit of ``value``.',
      '',
      'Returns',
      '-------',
      'float',
      '    The result.'
    ].join('\n');
    expect(docToMarkdown(doc)).toBe(
      [
        'Convert a temperature.',
        '',
        '**Parameters**',
        '',
        '- `value` (*float*): The temperature to convert.',
        '- `source` (*Unit*): The unit of `value`.',
        '',
        '**Returns**',
        '',
        '- *float*: The result.'
      ].join('\n')
    );
  });

  it('makes reST roles code and examples a code block', () => {
    expect(docToMarkdown('See :func:`numpy.mean`.\n\n>>> add(1, 2)\n3')).toBe(
      'See `numpy.mean`.\n\n```python\n>>> add(1, 2)\n3\n```'
    );
  });
});

describe('docToMarkdown of an indented docstring', () => {
  it('keeps indented prose as text, not a code block', () => {
    expect(docToMarkdown('Summary.\n\n    More text\n    here.')).toBe(
      'Summary.\n\nMore text\nhere.'
    );
  });
});
