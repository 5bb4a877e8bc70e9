/**
 * The map code, loaded only when a map is shown (a dynamic `import()` of this
 * module; Lab's start-up does not load Leaflet): the base map (the site's
 * tiles, or the bundled Natural Earth outline), GeoJSON and raster layers, and
 * the editor of the form's map fields.
 */
import * as L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import { feature } from 'topojson-client';
import type { Topology } from 'topojson-specification';
import land110m from 'world-atlas/land-110m.json';
import { mapConfig } from './config';
import type { GeoKind, IGeoSpec } from './geo';
import { isEmptyGeo, positionsOf } from './geo';
import type { IRaster } from './raster';
import {
  cellAt,
  decodeValues,
  formatValue,
  isNodata,
  rasterPixels
} from './raster';

export { L };

/**
 * The fill and line colour of features drawn from results and fields.
 */
export const FEATURE_COLOR = '#e8590c';

/**
 * A map and what was made for it.
 */
export interface IMapHandle {
  map: L.Map;
  /** The canvas renderer of features (fast with many polygons). */
  renderer: L.Canvas;
  /** The layer switch (base layers and overlays with a toggle each). */
  layers: L.Control.Layers;
  /**
   * Add a layer with a toggle in the layer switch (shown from the first
   * toggle on; a field's map has none).
   */
  addOverlay(layer: L.Layer, name: string): void;
  /**
   * Fit the map to a value (a GeoJSON object or a box), now or, while the
   * map has no size yet (not attached), as soon as it has one.
   */
  fit(value: unknown, maxZoom?: number): void;
  /** Remove the map and its observers. */
  dispose(): void;
}

/**
 * Make a map in `node`: the site's tile layers (settings), or the bundled
 * world outline when none is configured, so nothing is fetched from
 * elsewhere. It follows its node's size and the theme's colours.
 */
export function createMap(node: HTMLElement): IMapHandle {
  node.classList.add('jp-rpc-Map');
  const map = L.map(node, {
    preferCanvas: true,
    zoomSnap: 0.25,
    worldCopyJump: false,
    minZoom: 0,
    center: [20, 0],
    zoom: 1,
    attributionControl: true
  });
  map.attributionControl.setPrefix('Leaflet');
  // The map of a node, for tests and other extensions' scripts.
  Object.defineProperty(node, 'jpRpcMap', { value: map, configurable: true });
  map.createPane('jp-rpc-base').style.zIndex = '150';
  // Leaflet focuses the map on a press, and the browser then scrolls a map
  // half out of view in a scrolled panel between press and release, so the
  // click lands elsewhere than pressed: focus it without scrolling first.
  node.addEventListener(
    'mousedown',
    () => {
      if (document.activeElement !== node) {
        node.focus({ preventScroll: true });
      }
    },
    true
  );
  const renderer = L.canvas({ padding: 0.3 });
  const layers = L.control.layers(undefined, undefined, { collapsed: false });
  const tiles = mapConfig().tiles;
  if (tiles.length) {
    tiles.forEach((t, i) => {
      const layer = L.tileLayer(t.url, {
        attribution: t.attribution ?? '',
        maxZoom: t.maxZoom ?? 18
      });
      if (i === 0) {
        layer.addTo(map);
      }
      layers.addBaseLayer(layer, t.name ?? `Tiles ${i + 1}`);
    });
  } else {
    Private.outline(node).addTo(map);
  }
  let layersShown = false;
  const showLayers = (): void => {
    if (!layersShown) {
      layersShown = true;
      layers.addTo(map);
    }
  };
  if (tiles.length > 1) {
    showLayers();
  }
  let pending: { value: unknown; maxZoom?: number } | null = null;
  const fit = (value: unknown, maxZoom?: number): void => {
    if (node.clientWidth > 0 && node.clientHeight > 0) {
      pending = null;
      map.invalidateSize();
      fitTo(map, value, maxZoom);
    } else {
      pending = { value, maxZoom };
    }
  };
  const observer = new ResizeObserver(() => {
    map.invalidateSize();
    if (pending && node.clientWidth > 0 && node.clientHeight > 0) {
      fit(pending.value, pending.maxZoom);
    }
  });
  observer.observe(node);
  const themeObserver = new MutationObserver(() => {
    Private.restyleOutline(node);
  });
  themeObserver.observe(document.body, {
    attributes: true,
    attributeFilter: ['data-jp-theme-light', 'data-jp-theme-name']
  });
  return {
    map,
    renderer,
    layers,
    addOverlay: (layer, name) => {
      layers.addOverlay(layer, name);
      showLayers();
    },
    fit,
    dispose: () => {
      observer.disconnect();
      themeObserver.disconnect();
      map.remove();
    }
  };
}

/**
 * Fit the map to a GeoJSON value or box (a point gets a regional view).
 */
export function fitTo(map: L.Map, value: unknown, maxZoom = 8): void {
  const positions = positionsOf(value);
  if (!positions.length) {
    return;
  }
  const bounds = L.latLngBounds(positions.map(([x, y]) => [y, x]));
  if (!bounds.isValid()) {
    return;
  }
  map.fitBounds(bounds.pad(0.15), { maxZoom, animate: false });
}

/**
 * Options of {@link geoJSONLayer}.
 */
export interface IGeoLayerOptions {
  renderer: L.Canvas;
  /** Properties of a clicked feature, as a table in a popup. */
  popups?: boolean;
  /** What a popup says for a feature without properties. */
  noProperties?: string;
}

/**
 * A layer of GeoJSON features on the canvas renderer; each feature's
 * properties show in a popup when it is clicked.
 */
export function geoJSONLayer(
  data: GeoJSON.GeoJsonObject,
  options: IGeoLayerOptions
): L.GeoJSON {
  const style: L.PathOptions = {
    renderer: options.renderer,
    color: FEATURE_COLOR,
    weight: 1.5,
    fillColor: FEATURE_COLOR,
    fillOpacity: 0.35
  };
  const layer = L.geoJSON(data, {
    style: () => style,
    pointToLayer: (_f, latlng) =>
      L.circleMarker(latlng, { ...style, radius: 6, fillOpacity: 0.8 })
  });
  if (options.popups !== false) {
    // One handler for all features (a popup bound to each of 10,000
    // polygons costs seconds): the clicked feature's properties.
    layer.on('click', (e: L.LeafletMouseEvent) => {
      const target = e.propagatedFrom as
        (L.Layer & { feature?: GeoJSON.Feature }) | undefined;
      const map = (layer as unknown as { _map?: L.Map })._map;
      if (!target?.feature || !map) {
        return;
      }
      L.popup({ maxWidth: 360 })
        .setLatLng(e.latlng)
        .setContent(
          propertiesTable(target.feature.properties ?? {}, options.noProperties)
        )
        .openOn(map);
    });
  }
  return layer;
}

/**
 * A feature's properties as a two-column table (text only, escaped by the
 * DOM).
 */
export function propertiesTable(
  properties: Record<string, unknown>,
  none = ''
): HTMLElement {
  const table = document.createElement('table');
  table.className = 'jp-rpc-MapProperties';
  const entries = Object.entries(properties);
  if (!entries.length) {
    const p = document.createElement('p');
    p.textContent = none;
    return p;
  }
  for (const [key, value] of entries) {
    const row = table.insertRow();
    const th = document.createElement('th');
    th.textContent = key;
    row.appendChild(th);
    row.insertCell().textContent =
      typeof value === 'string' ? value : JSON.stringify(value);
  }
  return table;
}

/**
 * A raster on a map: the overlay, and the value under a position.
 */
export interface IRasterLayer {
  layer: L.ImageOverlay;
  /** The value at a position, or `undefined` outside / on nodata. */
  valueAt(lon: number, lat: number): number | undefined;
  /** The value as the readout says it. */
  describe(lon: number, lat: number): string;
}

/**
 * A raster as an image overlay (coloured by its colour map, NaN and nodata
 * transparent, drawn for the map's Web Mercator so each cell's colour sits
 * where its value is read).
 */
export function rasterLayer(raster: IRaster, noValue = ''): IRasterLayer {
  const values = decodeValues(raster);
  const [rows, cols] = raster.shape;
  // More pixel rows than cells near the poles, where Mercator stretches.
  const height = Math.min(4096, Math.max(rows, 2 * rows));
  const pixels = rasterPixels(raster, values, rows > 1 ? height : 1);
  const canvas = document.createElement('canvas');
  canvas.width = pixels.width;
  canvas.height = pixels.height;
  const ctx = canvas.getContext('2d');
  if (!ctx) {
    throw new Error('This browser cannot draw on a canvas.');
  }
  ctx.putImageData(new ImageData(pixels.data, pixels.width), 0, 0);
  const [west, south, east, north] = raster.bounds;
  const layer = L.imageOverlay(
    canvas.toDataURL('image/png'),
    [
      [south, west],
      [north, east >= west ? east : east + 360]
    ],
    {
      className: 'jp-rpc-RasterOverlay',
      interactive: false,
      alt: raster.name || ''
    }
  );
  const valueAt = (lon: number, lat: number): number | undefined => {
    const cell = cellAt(raster, lon, lat);
    if (!cell) {
      return undefined;
    }
    const v = values[cell[0] * cols + cell[1]];
    return isNodata(v, raster.nodata) ? undefined : v;
  };
  return {
    layer,
    valueAt,
    describe: (lon, lat) => {
      const cell = cellAt(raster, lon, lat);
      if (!cell) {
        return '';
      }
      const v = valueAt(lon, lat);
      return v === undefined ? noValue : formatValue(v, raster.units);
    }
  };
}

/**
 * What the map field's editor tells its field.
 */
export interface IEditorState {
  /** Drawing a shape now (clicks add its corners). */
  drawing: boolean;
  /** Corners of the shape being drawn. */
  count: number;
}

/**
 * The editor of a map field: click to set a point, click corners to draw a
 * line, polygon or box, drag a corner to move it. It keeps the value as
 * GeoJSON (a box as `[west, south, east, north]`) and says each change.
 */
export class GeoEditor {
  constructor(options: GeoEditor.IOptions) {
    this._handle = options.handle;
    this._spec = options.spec;
    this._onChange = options.onChange;
    this._onState = options.onState ?? (() => undefined);
    this._group = L.layerGroup().addTo(this._handle.map);
    this._handle.map.on('click', this._onClick, this);
    this._handle.map.on('dblclick', this._onDblClick, this);
    this._geometry = Private.drawnGeometry(options.spec);
    if (this._geometry !== 'Point') {
      this._handle.map.doubleClickZoom.disable();
    }
  }

  /** What a click draws: a Point, LineString, Polygon or BBox. */
  get geometry(): GeoKind {
    return this._geometry;
  }

  /** Whether a shape is being drawn. */
  get drawing(): boolean {
    return this._draft !== null;
  }

  /**
   * Show a value (from the text or the form), without telling the field.
   */
  setValue(value: unknown): void {
    this._value = value;
    this._draft = null;
    this._redraw();
    this._state();
  }

  /**
   * Show a value as an example: dashed, not editable.
   */
  setExample(value: unknown): void {
    this._example?.remove();
    this._example = null;
    if (value === undefined || value === null) {
      return;
    }
    const geo = Private.asGeoJSON(value, this._spec);
    if (geo) {
      this._example = L.geoJSON(geo as GeoJSON.GeoJsonObject, {
        style: () => ({
          renderer: this._handle.renderer,
          color: '#888',
          dashArray: '4 4',
          weight: 1.5,
          fill: false
        }),
        pointToLayer: (_f, latlng) =>
          L.circleMarker(latlng, { radius: 5, color: '#888', dashArray: '2 2' })
      }).addTo(this._handle.map);
    }
  }

  /**
   * Start drawing a new shape (clicks add corners; for a polygon, a click on
   * the first corner, a double click or {@link finish} closes it).
   */
  start(): void {
    this._draft = [];
    this._redraw();
    this._state();
  }

  /**
   * Close the shape being drawn (a polygon needs 3 corners, a line 2).
   */
  finish(): void {
    const draft = this._draft;
    if (!draft) {
      return;
    }
    const min = this._geometry === 'Polygon' ? 3 : 2;
    if (draft.length < min) {
      return;
    }
    this._draft = null;
    const coords =
      this._geometry === 'Polygon'
        ? [[...draft, draft[0]]]
        : draft.map(p => [...p]);
    this._commit(Private.withPart(this._value, this._spec, coords));
  }

  /**
   * Stop drawing, keeping the value as it was.
   */
  cancel(): void {
    this._draft = null;
    this._redraw();
    this._state();
  }

  /**
   * Remove the value.
   */
  clear(): void {
    this._draft = null;
    this._commit(undefined);
  }

  dispose(): void {
    this._handle.map.off('click', this._onClick, this);
    this._handle.map.off('dblclick', this._onDblClick, this);
    this._group.remove();
    this._example?.remove();
  }

  private _onClick(e: L.LeafletMouseEvent): void {
    const p: [number, number] = Private.position(e.latlng);
    if (this._geometry === 'Point') {
      this._commit(
        Private.withPart(this._value, this._spec, p as unknown as number[][])
      );
      return;
    }
    if (this._geometry === 'BBox') {
      if (!this._draft) {
        this._draft = [p];
        this._redraw();
        this._state();
        return;
      }
      const [a] = this._draft;
      this._draft = null;
      this._commit(Private.box(a, p));
      return;
    }
    if (!this._draft) {
      this.start();
    }
    this._draft!.push(p);
    this._redraw();
    this._state();
  }

  private _onDblClick(): void {
    if (this._draft && this._geometry !== 'BBox') {
      // The double click's two clicks added the same corner twice.
      const d = this._draft;
      while (
        d.length > 1 &&
        d[d.length - 1][0] === d[d.length - 2][0] &&
        d[d.length - 1][1] === d[d.length - 2][1]
      ) {
        d.pop();
      }
      this.finish();
    }
  }

  private _commit(value: unknown): void {
    this._value = value;
    this._redraw();
    this._state();
    this._onChange(value);
  }

  private _state(): void {
    this._onState({
      drawing: this._draft !== null,
      count: this._draft?.length ?? 0
    });
  }

  /**
   * Draw the value (with a handle on each corner) and the draft.
   */
  private _redraw(): void {
    this._group.clearLayers();
    const renderer = this._handle.renderer;
    const value = this._value;
    const style: L.PathOptions = {
      renderer,
      color: FEATURE_COLOR,
      weight: 2,
      fillColor: FEATURE_COLOR,
      fillOpacity: 0.25,
      interactive: false
    };
    if (value !== undefined && value !== null && typeof value !== 'string') {
      const geo = Private.asGeoJSON(value, this._spec);
      try {
        if (geo) {
          L.geoJSON(geo as GeoJSON.GeoJsonObject, {
            style: () => style,
            pointToLayer: (_f, latlng) =>
              L.circleMarker(latlng, { ...style, radius: 7, fillOpacity: 0.9 })
          }).addTo(this._group);
        }
      } catch {
        // Text being typed that is not drawable yet: the field says why.
        return;
      }
      Private.corners(value, this._spec).forEach(corner => {
        const marker = L.marker([corner.position[1], corner.position[0]], {
          draggable: true,
          keyboard: false,
          icon: L.divIcon({ className: 'jp-rpc-MapVertex', iconSize: [12, 12] })
        });
        marker.on('dragend', () => {
          const moved = Private.position(marker.getLatLng());
          this._commit(corner.move(moved));
        });
        marker.addTo(this._group);
      });
    }
    const draft = this._draft;
    if (draft && draft.length) {
      const latlngs = draft.map(([x, y]) => L.latLng(y, x));
      if (this._geometry === 'BBox') {
        L.circleMarker(latlngs[0], { ...style, radius: 4 }).addTo(this._group);
      } else {
        L.polyline(latlngs, { ...style, dashArray: '5 5' }).addTo(this._group);
        latlngs.forEach((ll, i) => {
          const m = L.circleMarker(ll, {
            ...style,
            radius: i === 0 ? 7 : 4,
            fillOpacity: 1,
            interactive: i === 0
          });
          if (i === 0) {
            m.on('click', ev => {
              L.DomEvent.stop(ev);
              this.finish();
            });
          }
          m.addTo(this._group);
        });
      }
    }
  }

  private _handle: IMapHandle;
  private _spec: IGeoSpec;
  private _geometry: GeoKind;
  private _onChange: (value: unknown) => void;
  private _onState: (state: IEditorState) => void;
  private _group: L.LayerGroup;
  private _example: L.GeoJSON | null = null;
  private _value: unknown = undefined;
  private _draft: Array<[number, number]> | null = null;
}

/**
 * The namespace for `GeoEditor` statics.
 */
export namespace GeoEditor {
  export interface IOptions {
    handle: IMapHandle;
    spec: IGeoSpec;
    onChange: (value: unknown) => void;
    onState?: (state: IEditorState) => void;
  }
}

/**
 * A namespace for private helpers.
 */
namespace Private {
  let landGeo: GeoJSON.GeoJsonObject | null = null;
  const outlines = new Set<{ node: HTMLElement; layer: L.GeoJSON }>();

  function cssVar(node: HTMLElement, name: string, fallback: string): string {
    const v = getComputedStyle(node).getPropertyValue(name).trim();
    return v || fallback;
  }

  function outlineStyle(node: HTMLElement): L.PathOptions {
    return {
      color: cssVar(node, '--jp-rpc-map-coast', '#9aa4ad'),
      weight: 0.7,
      fillColor: cssVar(node, '--jp-rpc-map-land', '#e4e1d6'),
      fillOpacity: 1,
      interactive: false
    };
  }

  /**
   * The bundled Natural Earth 1:110m land, on its own canvas under the
   * features.
   */
  export function outline(node: HTMLElement): L.GeoJSON {
    if (!landGeo) {
      const topo = land110m as unknown as Topology;
      landGeo = feature(topo, topo.objects.land) as GeoJSON.GeoJsonObject;
    }
    const renderer = L.canvas({ pane: 'jp-rpc-base', padding: 0.3 });
    const layer = L.geoJSON(landGeo, {
      style: () => ({ ...outlineStyle(node), renderer }),
      attribution: 'Natural Earth'
    });
    const entry = { node, layer };
    outlines.add(entry);
    layer.on('remove', () => outlines.delete(entry));
    return layer;
  }

  export function restyleOutline(node: HTMLElement): void {
    outlines.forEach(entry => {
      if (entry.node === node) {
        entry.layer.setStyle(outlineStyle(node));
      }
    });
  }

  export function round(v: number): number {
    return Math.round(v * 1e6) / 1e6;
  }

  /**
   * `[lon, lat]` of a map position (wrapped into [-180, 180]).
   */
  export function position(latlng: L.LatLng): [number, number] {
    const w = latlng.wrap();
    return [round(w.lng), round(Math.max(-90, Math.min(90, w.lat)))];
  }

  export function box(
    a: [number, number],
    b: [number, number]
  ): [number, number, number, number] {
    return [
      Math.min(a[0], b[0]),
      Math.min(a[1], b[1]),
      Math.max(a[0], b[0]),
      Math.max(a[1], b[1])
    ];
  }

  /**
   * The geometry a click draws for a field.
   */
  export function drawnGeometry(spec: IGeoSpec): GeoKind {
    switch (spec.kind) {
      case 'Point':
      case 'MultiPoint':
        return 'Point';
      case 'LineString':
      case 'MultiLineString':
        return 'LineString';
      case 'BBox':
        return 'BBox';
      case 'Feature':
      case 'FeatureCollection':
        return spec.geometry
          ? drawnGeometry({ kind: spec.geometry })
          : 'Polygon';
      default:
        return 'Polygon';
    }
  }

  function geometryType(spec: IGeoSpec): GeoKind {
    if (spec.kind === 'Feature' || spec.kind === 'FeatureCollection') {
      return spec.geometry ?? 'Polygon';
    }
    return spec.kind;
  }

  /**
   * The value with a new drawn part: it replaces a single geometry and is
   * added to a multi one or a collection.
   */
  export function withPart(
    value: unknown,
    spec: IGeoSpec,
    coords: unknown
  ): unknown {
    const type = geometryType(spec);
    const multi = type.startsWith('Multi');
    const old = value && typeof value === 'object' ? (value as any) : null;
    const geometryOf = (prev: any): any => {
      if (!multi) {
        return { type, coordinates: coords };
      }
      const parts =
        prev && prev.type === type && Array.isArray(prev.coordinates)
          ? prev.coordinates
          : [];
      return { type, coordinates: [...parts, coords] };
    };
    if (spec.kind === 'Feature') {
      return {
        type: 'Feature',
        properties: old?.properties ?? {},
        ...(old?.id !== undefined ? { id: old.id } : {}),
        geometry: geometryOf(old?.geometry)
      };
    }
    if (spec.kind === 'FeatureCollection') {
      const features = Array.isArray(old?.features) ? old.features : [];
      return {
        type: 'FeatureCollection',
        features: [
          ...features,
          {
            type: 'Feature',
            properties: {},
            geometry: { type, coordinates: coords }
          }
        ]
      };
    }
    return geometryOf(old);
  }

  /**
   * A value as GeoJSON to draw (a box as a polygon).
   */
  export function asGeoJSON(value: unknown, spec: IGeoSpec): unknown {
    if (spec.kind === 'BBox') {
      if (!Array.isArray(value) || value.length !== 4) {
        return null;
      }
      const [w, s, e, n] = value as number[];
      return {
        type: 'Polygon',
        coordinates: [
          [
            [w, s],
            [e, s],
            [e, n],
            [w, n],
            [w, s]
          ]
        ]
      };
    }
    return value && typeof value === 'object' && !isEmptyGeo(value)
      ? value
      : null;
  }

  interface ICorner {
    position: [number, number];
    move(to: [number, number]): unknown;
  }

  /**
   * A draggable handle for each corner of a value (the repeated last
   * position of a ring moves with the first).
   */
  export function corners(value: unknown, spec: IGeoSpec): ICorner[] {
    if (spec.kind === 'BBox') {
      if (!Array.isArray(value) || value.length !== 4) {
        return [];
      }
      const [w, s, e, n] = value as number[];
      const c: Array<[number, number]> = [
        [w, s],
        [e, s],
        [e, n],
        [w, n]
      ];
      return c.map((p, i) => ({
        position: p,
        move: to => box(to, c[(i + 2) % 4])
      }));
    }
    if (isEmptyGeo(value) || typeof value !== 'object') {
      return [];
    }
    const root = JSON.parse(JSON.stringify(value));
    const geometries: Array<{ g: any; path: Array<string | number> }> = [];
    if (root?.type === 'Feature') {
      geometries.push({ g: root.geometry, path: ['geometry'] });
    } else if (root?.type === 'FeatureCollection') {
      (root.features ?? []).forEach((f: any, i: number) =>
        geometries.push({ g: f?.geometry, path: ['features', i, 'geometry'] })
      );
    } else if (root?.type) {
      geometries.push({ g: root, path: [] });
    }
    const out: ICorner[] = [];
    const seen = new Set<string>();
    for (const { g, path } of geometries) {
      const depth = DEPTH[g?.type as string];
      if (depth === undefined) {
        continue;
      }
      const visit = (coords: any, d: number): void => {
        if (!Array.isArray(coords)) {
          return;
        }
        if (d > 0) {
          coords.forEach(c => visit(c, d - 1));
          return;
        }
        const position: [number, number] = [coords[0], coords[1]];
        const key = `${path.join('.')}:${position.join(',')}`;
        if (seen.has(key)) {
          return; // a ring's closing position moves with its first
        }
        seen.add(key);
        out.push({
          position,
          move: to => moveCorner(root, path, g.type, position, to)
        });
      };
      visit(g.coordinates, depth);
    }
    return out;
  }

  const DEPTH: Record<string, number> = {
    Point: 0,
    MultiPoint: 1,
    LineString: 1,
    MultiLineString: 2,
    Polygon: 2,
    MultiPolygon: 3
  };

  /**
   * The value with one corner moved (found again by its position).
   */
  function moveCorner(
    root: any,
    geoPath: Array<string | number>,
    type: string,
    from: [number, number],
    to: [number, number]
  ): unknown {
    const result = JSON.parse(JSON.stringify(root));
    let g = result;
    for (const k of geoPath) {
      g = g[k];
    }
    const [x, y] = from;
    const replace = (coords: any, depth: number): any => {
      if (depth === 0) {
        return coords[0] === x && coords[1] === y ? [...to] : coords;
      }
      return coords.map((c: any) => replace(c, depth - 1));
    };
    g.coordinates = replace(g.coordinates, DEPTH[type]);
    return result;
  }
}
