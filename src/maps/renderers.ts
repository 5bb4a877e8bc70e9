/**
 * Geo results in rendermime (so the results tab, the panel and notebook
 * cells all show them the same way): `application/geo+json` as features on a
 * map with their properties in a popup and a table below, and
 * `application/vnd.jupyter-rpc.raster+json` as a coloured overlay with a
 * colour bar and the value under the cursor. The map code loads with the
 * first map shown.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';
import { loadMapModule } from './GeoField';
import { GEOJSON_MIME, RASTER_MIME } from './geo';
import type { IRaster } from './raster';
import { colormapGradient, formatValue } from './raster';
import type * as LeafletMap from './leafletmap';

/**
 * A result layer that can go on the shared map (*Add to map*).
 */
export interface IMapLayerSource {
  /** A name for its toggle. */
  name: string;
  mimeType: typeof GEOJSON_MIME | typeof RASTER_MIME;
  data: unknown;
}

/**
 * What the renderers need from the application (absent: no *Add to map*).
 */
export interface IMapRenderContext {
  addToMap?: (source: IMapLayerSource) => void;
  trans: TranslationBundle;
}

/**
 * Rows of the properties table at most (the map has every feature).
 */
export const MAX_TABLE_ROWS = 500;

/**
 * The rendermime factory of geo results.
 */
export function geoRendererFactory(
  context: IMapRenderContext
): IRenderMime.IRendererFactory {
  return {
    safe: true,
    mimeTypes: [GEOJSON_MIME, RASTER_MIME],
    defaultRank: 40,
    createRenderer: options => new RenderedMap(options, context)
  };
}

/**
 * A geo result on a map.
 */
export class RenderedMap extends Widget implements IRenderMime.IRenderer {
  constructor(
    options: IRenderMime.IRendererOptions,
    context: IMapRenderContext
  ) {
    super();
    this._mimeType = options.mimeType;
    this._context = context;
    this.addClass('jp-rpc-MapResult');
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const started = performance.now();
    const data = model.data[this._mimeType] as unknown;
    this._handle?.dispose();
    this._handle = null;
    this.node.textContent = '';
    const toolbar = document.createElement('div');
    toolbar.className = 'jp-rpc-MapResult-toolbar';
    const mapNode = document.createElement('div');
    mapNode.className = 'jp-rpc-MapResult-map';
    this.node.append(toolbar, mapNode);
    const summary = document.createElement('span');
    summary.className = 'jp-rpc-MapResult-summary';
    toolbar.appendChild(summary);
    let mod: typeof LeafletMap;
    const trans = this._context.trans;
    try {
      mod = await loadMapModule();
    } catch (reason) {
      summary.textContent = trans.__(
        'The map could not load: %1',
        String(reason)
      );
      return;
    }
    if (this.isDisposed) {
      return;
    }
    const handle = mod.createMap(mapNode);
    this._handle = handle;
    let name: string;
    try {
      if (this._mimeType === RASTER_MIME) {
        name = this._raster(mod, handle, data as IRaster, summary);
      } else {
        name = this._features(mod, handle, data, summary);
      }
    } catch (reason) {
      summary.textContent = trans.__(
        'This result cannot be drawn: %1',
        reason instanceof Error ? reason.message : String(reason)
      );
      return;
    }
    if (this._context.addToMap) {
      const add = document.createElement('button');
      add.type = 'button';
      add.className = 'jp-mod-styled jp-rpc-MapResult-add';
      add.textContent = trans.__('Add to map');
      add.title = trans.__(
        'Show this result on the shared map, beside other results'
      );
      add.addEventListener('click', () => {
        this._context.addToMap?.({
          name,
          mimeType: this._mimeType as IMapLayerSource['mimeType'],
          data
        });
      });
      toolbar.appendChild(add);
    }
    // Drawn once the canvas has painted (for the figures in the tests).
    await new Promise(resolve => requestAnimationFrame(resolve));
    performance.mark('jp-rpc-geo-drawn');
    this.node.dataset.drawnAt = String(performance.now());
    this.node.dataset.renderMs = String(
      Math.round(performance.now() - started)
    );
  }

  dispose(): void {
    this._handle?.dispose();
    this._handle = null;
    this._urls.forEach(u => URL.revokeObjectURL(u));
    this._urls = [];
    super.dispose();
  }

  private _features(
    mod: typeof LeafletMap,
    handle: LeafletMap.IMapHandle,
    data: unknown,
    summary: HTMLElement
  ): string {
    performance.mark('jp-rpc-geo-start');
    const layer = mod.geoJSONLayer(data as GeoJSON.GeoJsonObject, {
      renderer: handle.renderer,
      noProperties: this._context.trans.__('No properties')
    });
    performance.mark('jp-rpc-geo-layer');
    // Fitted first, so the features are projected once, at the final view.
    handle.fit(data);
    performance.mark('jp-rpc-geo-fit');
    layer.addTo(handle.map);
    performance.mark('jp-rpc-geo-added');
    const trans = this._context.trans;
    const features = Private.features(data);
    // (%1 is the count as a number, %2 as the locale writes it)
    const count = trans._n(
      '%2 feature',
      '%2 features',
      features.length,
      features.length.toLocaleString()
    );
    const name =
      features.length === 1
        ? (Private.featureName(features[0]) ?? trans.__('Feature'))
        : count;
    handle.addOverlay(layer, name);
    summary.textContent = count;
    const download = document.createElement('a');
    download.className = 'jp-rpc-MapResult-download';
    download.textContent = trans.__('Download GeoJSON');
    download.download = 'result.geojson';
    download.href = '#';
    // The file is made when asked for (a large result's JSON text is
    // megabytes that the map does not need).
    download.addEventListener('click', () => {
      if (download.href.startsWith('blob:')) {
        return;
      }
      download.href = URL.createObjectURL(
        new Blob([JSON.stringify(data)], { type: GEOJSON_MIME })
      );
      this._urls.push(download.href);
    });
    summary.after(download);
    this.node.appendChild(
      Private.table(features, trans, (index: number) => {
        const target = layer.getLayers()[index] as
          | (LeafletMap.L.Layer & {
              getBounds?: () => LeafletMap.L.LatLngBounds;
              getLatLng?: () => LeafletMap.L.LatLng;
            })
          | undefined;
        if (!target) {
          return;
        }
        let at: LeafletMap.L.LatLng | undefined;
        if (target.getBounds) {
          const bounds = target.getBounds();
          handle.map.fitBounds(bounds.pad(0.3), { animate: false });
          at = bounds.getCenter();
        } else if (target.getLatLng) {
          at = target.getLatLng();
          handle.map.setView(at, Math.max(handle.map.getZoom(), 6));
        }
        if (at) {
          mod.L.popup({ maxWidth: 360 })
            .setLatLng(at)
            .setContent(
              mod.propertiesTable(
                features[index].properties ?? {},
                trans.__('No properties')
              )
            )
            .openOn(handle.map);
        }
      })
    );
    return name;
  }

  private _raster(
    mod: typeof LeafletMap,
    handle: LeafletMap.IMapHandle,
    raster: IRaster,
    summary: HTMLElement
  ): string {
    const trans = this._context.trans;
    const drawn = mod.rasterLayer(raster, trans.__('no value'));
    drawn.layer.addTo(handle.map);
    const name = raster.name || trans.__('raster');
    handle.addOverlay(drawn.layer, name);
    const [west, south, east, north] = raster.bounds;
    handle.fit([west, south, east, north]);
    const [rows, cols] = raster.shape;
    const source = raster.source_shape ?? raster.shape;
    summary.textContent =
      source[0] !== rows || source[1] !== cols
        ? trans.__(
            '%1: %2 × %3 cells, shown as %4 × %5',
            name,
            source[0].toLocaleString(),
            source[1].toLocaleString(),
            rows,
            cols
          )
        : trans.__(
            '%1: %2 × %3 cells',
            name,
            rows.toLocaleString(),
            cols.toLocaleString()
          );
    if (raster.download) {
      const link = document.createElement('a');
      link.className = 'jp-rpc-MapResult-download';
      link.textContent = trans.__('Download');
      link.title = trans.__('The full raster, as the function returned it');
      link.href = URLExt.join(
        ServerConnection.makeSettings().baseUrl,
        raster.download
      );
      link.target = '_blank';
      link.rel = 'noopener';
      summary.after(link);
    }
    const legend = document.createElement('div');
    legend.className = 'jp-rpc-ColorBar';
    const bar = document.createElement('div');
    bar.className = 'jp-rpc-ColorBar-bar';
    bar.style.background = colormapGradient(raster.colormap);
    bar.setAttribute('role', 'img');
    bar.setAttribute(
      'aria-label',
      trans.__(
        'Colour bar (%1) from %2 to %3',
        raster.colormap,
        formatValue(raster.vmin, raster.units),
        formatValue(raster.vmax, raster.units)
      )
    );
    const low = document.createElement('span');
    low.className = 'jp-rpc-ColorBar-min';
    low.textContent = formatValue(raster.vmin, '');
    const high = document.createElement('span');
    high.className = 'jp-rpc-ColorBar-max';
    high.textContent = formatValue(raster.vmax, '');
    const units = document.createElement('span');
    units.className = 'jp-rpc-ColorBar-units';
    units.textContent = raster.units;
    legend.append(low, bar, high, units);
    const readout = document.createElement('div');
    readout.className = 'jp-rpc-RasterReadout';
    readout.setAttribute('aria-live', 'polite');
    readout.textContent = trans.__('Point at the map to read a value.');
    this.node.append(legend, readout);
    handle.map.on('mousemove', (e: LeafletMap.L.LeafletMouseEvent) => {
      const ll = e.latlng.wrap();
      const text = drawn.describe(ll.lng, ll.lat);
      readout.textContent = text
        ? trans.__('%1 at %2, %3', text, ll.lng.toFixed(4), ll.lat.toFixed(4))
        : trans.__('Outside the raster');
      const v = drawn.valueAt(ll.lng, ll.lat);
      readout.dataset.value = v === undefined ? '' : String(v);
    });
    return name;
  }

  private _mimeType: string;
  private _context: IMapRenderContext;
  private _handle: LeafletMap.IMapHandle | null = null;
  private _urls: string[] = [];
}

/**
 * A namespace for private helpers.
 */
namespace Private {
  export interface IFeature {
    type: 'Feature';
    id?: unknown;
    geometry: unknown;
    properties?: Record<string, unknown> | null;
  }

  /**
   * The features of any GeoJSON value (a bare geometry is one feature).
   */
  export function features(data: unknown): IFeature[] {
    if (!data || typeof data !== 'object') {
      return [];
    }
    const obj = data as Record<string, unknown>;
    if (obj.type === 'FeatureCollection' && Array.isArray(obj.features)) {
      return obj.features as IFeature[];
    }
    if (obj.type === 'Feature') {
      return [obj as unknown as IFeature];
    }
    return [{ type: 'Feature', geometry: obj, properties: {} }];
  }

  export function featureName(f: IFeature): string | undefined {
    const name = f.properties?.name;
    return typeof name === 'string' && name ? name : undefined;
  }

  /**
   * The features' properties as a table (the first rows); a click on a row
   * shows its feature on the map.
   */
  export function table(
    features: IFeature[],
    trans: TranslationBundle,
    show: (index: number) => void
  ): HTMLElement {
    const wrap = document.createElement('div');
    wrap.className = 'jp-rpc-MapResult-tableWrap';
    const columns: string[] = [];
    const seen = new Set<string>();
    const rows = features.slice(0, MAX_TABLE_ROWS);
    for (const f of rows) {
      for (const key of Object.keys(f.properties ?? {})) {
        if (!seen.has(key)) {
          seen.add(key);
          columns.push(key);
        }
      }
    }
    if (!columns.length) {
      return wrap;
    }
    const table = document.createElement('table');
    table.className = 'jp-rpc-table jp-rpc-MapResult-table';
    const head = table.createTHead().insertRow();
    for (const c of columns) {
      const th = document.createElement('th');
      th.textContent = c;
      head.appendChild(th);
    }
    const body = table.createTBody();
    rows.forEach((f, i) => {
      const row = body.insertRow();
      row.tabIndex = 0;
      row.title = trans.__('Show on the map');
      for (const c of columns) {
        const v = f.properties?.[c];
        row.insertCell().textContent =
          v === undefined || v === null
            ? ''
            : typeof v === 'string'
              ? v
              : JSON.stringify(v);
      }
      row.addEventListener('click', () => show(i));
      row.addEventListener('keydown', e => {
        if (e.key === 'Enter') {
          show(i);
        }
      });
    });
    wrap.appendChild(table);
    if (features.length > rows.length) {
      const more = document.createElement('p');
      more.className = 'jp-rpc-muted';
      more.textContent = trans.__(
        '… %1 more features (all are on the map and in the download)',
        (features.length - rows.length).toLocaleString()
      );
      wrap.appendChild(more);
    }
    return wrap;
  }
}
