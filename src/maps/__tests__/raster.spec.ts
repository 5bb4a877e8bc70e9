import {
  cellAt,
  colorAt,
  colormapTable,
  decodeValues,
  formatValue,
  hexToRgb,
  mercatorLat,
  mercatorY,
  rasterPixels
} from '../raster';
import type { IRaster } from '../raster';

function raster(values: number[], rows: number, cols: number): IRaster {
  const bytes = Buffer.from(new Float32Array(values).buffer);
  return {
    bounds: [0, 0, cols, rows],
    shape: [rows, cols],
    values: bytes.toString('base64'),
    nodata: -9999,
    units: 'K',
    colormap: 'viridis',
    vmin: 0,
    vmax: 10,
    name: 't'
  };
}

describe('colour maps', () => {
  it("ends where matplotlib's do", () => {
    expect(colorAt('viridis', 0)).toEqual(hexToRgb('#440154'));
    expect(colorAt('viridis', 1)).toEqual(hexToRgb('#fde725'));
    expect(colorAt('magma', 0)).toEqual([0, 0, 4]);
    expect(colorAt('rdbu', 0)).toEqual(hexToRgb('#67001f'));
    expect(colorAt('greys', 1)).toEqual([0, 0, 0]);
  });

  it('has 256 entries and falls back to viridis', () => {
    expect(colormapTable('cividis').length).toBe(768);
    expect(colormapTable('no-such-map')).toEqual(colormapTable('viridis'));
  });
});

describe('raster values', () => {
  it('decodes little-endian float32, row-major', () => {
    const r = raster([1, 2, 3, 4, 5, 6], 2, 3);
    expect(Array.from(decodeValues(r))).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('refuses values that do not fit the shape', () => {
    expect(() => decodeValues(raster([1, 2, 3], 2, 3))).toThrow(
      /not 2 × 3 float32 numbers/
    );
  });

  it('finds the cell under a position, row 0 at the north edge', () => {
    const r = raster([0, 0, 0, 0, 0, 0], 2, 3);
    expect(cellAt(r, 0.5, 1.5)).toEqual([0, 0]);
    expect(cellAt(r, 2.5, 0.5)).toEqual([1, 2]);
    expect(cellAt(r, 3.5, 0.5)).toBeNull();
  });

  it('colours by the colour map, nodata and NaN transparent', () => {
    const r = raster([0, 10, -9999, NaN], 2, 2);
    const { data, width, height } = rasterPixels(r, decodeValues(r));
    expect([width, height]).toEqual([2, 2]);
    expect(Array.from(data.slice(0, 4))).toEqual([...hexToRgb('#440154'), 255]);
    expect(Array.from(data.slice(4, 8))).toEqual([...hexToRgb('#fde725'), 255]);
    expect(data[11]).toBe(0);
    expect(data[15]).toBe(0);
  });

  it('goes to and from Web Mercator', () => {
    expect(mercatorLat(mercatorY(53.5))).toBeCloseTo(53.5, 9);
    expect(formatValue(60, 'stripes')).toBe('60 stripes');
    expect(formatValue(1 / 3, '')).toBe('0.333333');
  });
});
