/**
 * Raster results (`application/vnd.jupyter-rpc.raster+json`): decoding the
 * values, colour maps, and the pixels of the overlay. Pure functions, no DOM
 * and no map library.
 */

/**
 * A raster as the server sends it.
 */
export interface IRaster {
  /** `[west, south, east, north]` in degrees (EPSG:4326). */
  bounds: [number, number, number, number];
  /** `[rows, cols]` of `values` (after downsampling). */
  shape: [number, number];
  /** Base64 of little-endian float32, row-major, row 0 at the north edge. */
  values: string;
  nodata: number | null;
  units: string;
  colormap: string;
  vmin: number;
  vmax: number;
  name: string;
  /** `[rows, cols]` of the full raster (downloadable). */
  source_shape?: [number, number];
  /** Path below the server's base URL that downloads the full raster. */
  download?: string | null;
}

/**
 * The colour maps a raster may name, as evenly spaced stops (matplotlib's
 * maps of the same names, sampled); low values first.
 */
export const COLORMAPS: Readonly<Record<string, ReadonlyArray<string>>> = {
  viridis: [
    '#440154',
    '#482878',
    '#3e4989',
    '#31688e',
    '#26828e',
    '#1f9e89',
    '#35b779',
    '#6ece58',
    '#b5de2b',
    '#fde725'
  ],
  magma: [
    '#000004',
    '#180f3d',
    '#440f76',
    '#721f81',
    '#9e2f7f',
    '#cd4071',
    '#f1605d',
    '#fd9668',
    '#feca8d',
    '#fcfdbf'
  ],
  cividis: [
    '#00224e',
    '#123570',
    '#3b496c',
    '#575d6d',
    '#707173',
    '#8a8779',
    '#a69d75',
    '#c4b56c',
    '#e4cf5b',
    '#fee838'
  ],
  greys: [
    '#ffffff',
    '#f0f0f0',
    '#d9d9d9',
    '#bdbdbd',
    '#969696',
    '#737373',
    '#525252',
    '#252525',
    '#000000'
  ],
  rdbu: [
    '#67001f',
    '#b2182b',
    '#d6604d',
    '#f4a582',
    '#fddbc7',
    '#f7f7f7',
    '#d1e5f0',
    '#92c5de',
    '#4393c3',
    '#2166ac',
    '#053061'
  ]
};

/**
 * The default colour map (for an unknown name).
 */
export const DEFAULT_COLORMAP = 'viridis';

/**
 * The stops of a colour map by name (case-insensitive; unknown names give
 * viridis).
 */
export function colormapStops(name: string): ReadonlyArray<string> {
  return COLORMAPS[name.toLowerCase()] ?? COLORMAPS[DEFAULT_COLORMAP];
}

/**
 * A colour map as a 256-entry RGB table (768 bytes), linear between stops.
 */
export function colormapTable(name: string): Uint8Array {
  const stops = colormapStops(name).map(hexToRgb);
  const table = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const rgb = interpolate(stops, i / 255);
    table.set(rgb, i * 3);
  }
  return table;
}

/**
 * The colour of `t` in [0, 1] on a colour map, `[r, g, b]`.
 */
export function colorAt(name: string, t: number): [number, number, number] {
  const table = colormapTable(name);
  const i = Math.max(0, Math.min(255, Math.round(t * 255)));
  return [table[i * 3], table[i * 3 + 1], table[i * 3 + 2]];
}

/**
 * A CSS gradient of a colour map, low values on the left (a colour bar).
 */
export function colormapGradient(name: string): string {
  const stops = colormapStops(name);
  return `linear-gradient(to right, ${stops.join(', ')})`;
}

/**
 * `#rrggbb` as `[r, g, b]`.
 */
export function hexToRgb(hex: string): [number, number, number] {
  const n = parseInt(hex.replace('#', ''), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function interpolate(
  stops: Array<[number, number, number]>,
  t: number
): [number, number, number] {
  const x = Math.max(0, Math.min(1, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = stops[i];
  const b = stops[i + 1];
  return [
    Math.round(a[0] + (b[0] - a[0]) * f),
    Math.round(a[1] + (b[1] - a[1]) * f),
    Math.round(a[2] + (b[2] - a[2]) * f)
  ];
}

/**
 * The values of a raster: base64 little-endian float32, row-major. Throws
 * when their count does not match the shape.
 */
export function decodeValues(raster: IRaster): Float32Array {
  const binary = atob(raster.values);
  const n = binary.length;
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    bytes[i] = binary.charCodeAt(i);
  }
  const [rows, cols] = raster.shape;
  if (n !== rows * cols * 4) {
    throw new Error(
      `The raster's values are ${n} bytes, not ${rows} × ${cols} float32 numbers.`
    );
  }
  if (Private.littleEndian) {
    return new Float32Array(bytes.buffer);
  }
  const view = new DataView(bytes.buffer);
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < out.length; i++) {
    out[i] = view.getFloat32(i * 4, true);
  }
  return out;
}

/**
 * Whether a cell has no value (NaN or the raster's `nodata`).
 */
export function isNodata(v: number, nodata: number | null): boolean {
  return Number.isNaN(v) || (nodata !== null && v === nodata);
}

/**
 * Web Mercator's y of a latitude (radians of the projected plane).
 */
export function mercatorY(lat: number): number {
  const clamped = Math.max(-85.05112878, Math.min(85.05112878, lat));
  const phi = (clamped * Math.PI) / 180;
  return Math.log(Math.tan(Math.PI / 4 + phi / 2));
}

/**
 * The latitude of a Web Mercator y.
 */
export function mercatorLat(y: number): number {
  return ((2 * Math.atan(Math.exp(y)) - Math.PI / 2) * 180) / Math.PI;
}

/**
 * The cell under a position, `[row, col]`, or `null` outside the raster.
 */
export function cellAt(
  raster: Pick<IRaster, 'bounds' | 'shape'>,
  lon: number,
  lat: number
): [number, number] | null {
  const [west, south, east, north] = raster.bounds;
  const [rows, cols] = raster.shape;
  if (lat < south || lat > north) {
    return null;
  }
  const width = east >= west ? east - west : east + 360 - west;
  let dx = lon - west;
  if (east < west && dx < 0) {
    dx += 360;
  }
  if (dx < 0 || dx > width) {
    return null;
  }
  const row = Math.min(
    rows - 1,
    Math.floor(((north - lat) / (north - south)) * rows)
  );
  const col = Math.min(cols - 1, Math.floor((dx / width) * cols));
  return [row, col];
}

/**
 * The overlay's pixels (RGBA, `cols` wide and `height` high) for a map in Web
 * Mercator: each pixel row takes the raster row at its latitude, so the
 * overlay's colours sit where {@link cellAt} finds their values. Values are
 * scaled from `vmin`..`vmax` on the colour map; NaN and `nodata` are
 * transparent.
 */
export function rasterPixels(
  raster: IRaster,
  values: Float32Array,
  height?: number
): { data: Uint8ClampedArray; width: number; height: number } {
  const [rows, cols] = raster.shape;
  const [, south, , north] = raster.bounds;
  const h = height ?? rows;
  const table = colormapTable(raster.colormap);
  const { vmin, vmax, nodata } = raster;
  const span = vmax - vmin || 1;
  const data = new Uint8ClampedArray(cols * h * 4);
  const yN = mercatorY(north);
  const yS = mercatorY(south);
  for (let py = 0; py < h; py++) {
    const lat = mercatorLat(yN - ((py + 0.5) / h) * (yN - yS));
    const row = Math.max(
      0,
      Math.min(rows - 1, Math.floor(((north - lat) / (north - south)) * rows))
    );
    const src = row * cols;
    const dst = py * cols * 4;
    for (let c = 0; c < cols; c++) {
      const v = values[src + c];
      const o = dst + c * 4;
      if (isNodata(v, nodata)) {
        continue; // transparent (zeros)
      }
      const i = Math.max(
        0,
        Math.min(255, Math.round(((v - vmin) / span) * 255))
      );
      data[o] = table[i * 3];
      data[o + 1] = table[i * 3 + 1];
      data[o + 2] = table[i * 3 + 2];
      data[o + 3] = 255;
    }
  }
  return { data, width: cols, height: h };
}

/**
 * A value as the readout shows it: up to 6 significant digits and the units.
 */
export function formatValue(v: number, units: string): string {
  const text = Number.isInteger(v)
    ? String(v)
    : String(Number(v.toPrecision(6)));
  return units ? `${text} ${units}` : text;
}

/**
 * A namespace for private helpers.
 */
namespace Private {
  export const littleEndian =
    new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}
