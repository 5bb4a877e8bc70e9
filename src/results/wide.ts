/**
 * Which results open in the main area by themselves (kept apart from React so
 * the rule can be tested without a DOM).
 */
import type { MimeBundle } from '../functions/api';

/**
 * What a wide result is, for the side panel's one-line summary.
 */
export type WideKind = 'table' | 'chart' | 'image' | 'map';

/**
 * The kind of a result too wide for the side panel, or `null`.
 *
 * The rule: a result opens in a main-area tab by itself when the panel's
 * ~250 px would cut it: an HTML table, a chart (Vega, Vega-Lite, Plotly), a
 * map (GeoJSON) or an image (PNG, JPEG, GIF, SVG) wider than 240 px or of
 * unknown width. Text, Markdown, JSON and small numbers stay in the panel.
 */
export function wideKind(
  display: MimeBundle | null | undefined
): WideKind | null {
  if (!display) {
    return null;
  }
  const types = Object.keys(display);
  if (
    types.some(t =>
      /^application\/vnd\.(vega|vegalite)\.v\d+\+json$|^application\/vnd\.plotly\.v\d+\+json$/.test(
        t
      )
    )
  ) {
    return 'chart';
  }
  if (
    types.includes('application/geo+json') ||
    types.includes('application/vnd.jupyter-rpc.raster+json')
  ) {
    return 'map';
  }
  const html = display['text/html'];
  if (typeof html === 'string' && /<table[\s>]/i.test(html)) {
    return 'table';
  }
  for (const type of [
    'image/png',
    'image/jpeg',
    'image/gif',
    'image/svg+xml'
  ]) {
    if (type in display) {
      const width = Private.imageWidth(display, type);
      return width === null || width > 240 ? 'image' : null;
    }
  }
  return null;
}

/**
 * "Table: 5 rows × 4 columns", "Chart", "Image 96 × 64": what the panel says
 * of a wide result.
 */
export function wideSummary(
  kind: WideKind,
  display: MimeBundle,
  trans: {
    __: (text: string, ...args: unknown[]) => string;
    _n: (s: string, p: string, n: number, ...args: unknown[]) => string;
  }
): string {
  switch (kind) {
    case 'table': {
      const html = String(display['text/html'] ?? '');
      const body = html.split(/<tbody[\s>]/i)[1] ?? html;
      const rows = (body.match(/<tr[\s>]/gi) ?? []).length;
      const head = html.split(/<\/thead>/i)[0] ?? '';
      const columns = (head.match(/<th[\s>]/gi) ?? []).length;
      return columns
        ? trans.__(
            'Table: %1 × %2',
            trans._n('%1 row', '%1 rows', rows),
            trans._n('%1 column', '%1 columns', columns)
          )
        : trans.__('Table: %1', trans._n('%1 row', '%1 rows', rows));
    }
    case 'chart':
      return trans.__('Chart');
    case 'map':
      return trans.__('Map');
    case 'image':
      return trans.__('Image');
  }
}

/**
 * A namespace for private helpers.
 */
namespace Private {
  /**
   * An image's width from its metadata, its PNG header or its SVG attributes
   * (`null`: unknown).
   */
  export function imageWidth(display: MimeBundle, type: string): number | null {
    const metadata = display['metadata'];
    if (metadata && typeof metadata === 'object') {
      const width = (metadata as Record<string, Record<string, unknown>>)[type]
        ?.width;
      if (typeof width === 'number') {
        return width;
      }
    }
    const data = display[type];
    if (typeof data !== 'string') {
      return null;
    }
    if (type === 'image/png') {
      try {
        // The IHDR chunk: the width is bytes 16-19 of the file.
        const head = atob(data.slice(0, 32).replace(/\s/g, ''));
        if (head.length >= 20) {
          return (
            ((head.charCodeAt(16) << 24) |
              (head.charCodeAt(17) << 16) |
              (head.charCodeAt(18) << 8) |
              head.charCodeAt(19)) >>>
            0
          );
        }
      } catch {
        return null;
      }
      return null;
    }
    if (type === 'image/svg+xml') {
      const match = /<svg[^>]*\swidth="([\d.]+)(px)?"/i.exec(data);
      if (match) {
        return parseFloat(match[1]);
      }
      const box = /viewBox="[\d.\s-]+?\s([\d.]+)\s[\d.]+"/i.exec(data);
      return box ? parseFloat(box[1]) : null;
    }
    return null;
  }
}
