import { wideKind, wideSummary } from '../wide';

const trans = {
  __: (text: string, ...args: unknown[]) =>
    args.reduce<string>((s, a, i) => s.replace(`%${i + 1}`, String(a)), text),
  _n: (one: string, many: string, n: number) =>
    (n === 1 ? one : many).replace('%1', String(n))
};

// A PNG header (signature + IHDR) of the given width.
function png(width: number): string {
  const bytes = [137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82];
  bytes.push((width >>> 24) & 255, (width >>> 16) & 255, (width >>> 8) & 255);
  bytes.push(width & 255, 0, 0, 0, 64);
  return btoa(String.fromCharCode(...bytes)) + 'AAAA';
}

describe('wideKind', () => {
  it('opens tables, charts and maps in the main area', () => {
    expect(
      wideKind({ 'text/html': '<table><tr><td>1</td></tr></table>' })
    ).toBe('table');
    expect(
      wideKind({ 'application/vnd.vegalite.v5+json': {}, 'text/plain': 'c' })
    ).toBe('chart');
    expect(wideKind({ 'application/geo+json': {} })).toBe('map');
  });

  it('keeps text, Markdown, JSON and small images in the panel', () => {
    expect(wideKind({ 'text/plain': '42' })).toBeNull();
    expect(wideKind({ 'text/markdown': '# Hi' })).toBeNull();
    expect(wideKind({ 'application/json': { a: 1 } })).toBeNull();
    expect(wideKind({ 'text/html': '<p>no table</p>' })).toBeNull();
    expect(wideKind({ 'image/png': png(96) })).toBeNull();
    expect(
      wideKind({ 'image/svg+xml': '<svg width="200" height="50"></svg>' })
    ).toBeNull();
    expect(wideKind(null)).toBeNull();
  });

  it('opens images wider than the panel', () => {
    expect(wideKind({ 'image/png': png(512) })).toBe('image');
    expect(
      wideKind({
        'image/svg+xml': '<svg viewBox="0 0 800 300"></svg>'
      })
    ).toBe('image');
    expect(wideKind({ 'image/jpeg': '/9j/' })).toBe('image');
  });
});

describe('wideSummary', () => {
  it('counts a table’s rows and columns', () => {
    const html =
      '<table><thead><tr><th>id</th><th>name</th></tr></thead>' +
      '<tbody><tr><td>1</td><td>a</td></tr><tr><td>2</td><td>b</td></tr></tbody></table>';
    expect(wideSummary('table', { 'text/html': html }, trans)).toBe(
      'Table: 2 rows × 2 columns'
    );
    expect(wideSummary('chart', {}, trans)).toBe('Chart');
  });
});
