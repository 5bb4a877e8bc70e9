import { plainSummary, reflow } from '../DocText';

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
