/**
 * The shared map (*Add to map*): one main-area tab where results are layered,
 * each with a toggle in the map's layer switch.
 */
import { MainAreaWidget } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import { loadMapModule } from './GeoField';
import { RASTER_MIME } from './geo';
import type { IRaster } from './raster';
import type { IMapLayerSource } from './renderers';
import type * as LeafletMap from './leafletmap';

/**
 * The map of the shared map tab.
 */
export class SharedMapView extends Widget {
  constructor(noValue = '') {
    super();
    this._noValue = noValue;
    this.addClass('jp-rpc-SharedMap');
    this._mapNode = document.createElement('div');
    this._mapNode.className = 'jp-rpc-SharedMap-map';
    this.node.appendChild(this._mapNode);
  }

  /** The names of the layers on the map, in order. */
  get layerNames(): string[] {
    return this._names.slice();
  }

  /**
   * Add a result as a layer (shown; its toggle hides it).
   */
  async add(source: IMapLayerSource): Promise<void> {
    const mod = await loadMapModule();
    if (this.isDisposed) {
      return;
    }
    if (!this._handle) {
      this._handle = mod.createMap(this._mapNode);
    }
    const handle = this._handle;
    let layer: LeafletMap.L.Layer;
    if (source.mimeType === RASTER_MIME) {
      const raster = source.data as IRaster;
      layer = mod.rasterLayer(raster, this._noValue).layer;
      this._shapes.push(raster.bounds);
    } else {
      layer = mod.geoJSONLayer(source.data as GeoJSON.GeoJsonObject, {
        renderer: handle.renderer
      });
      this._shapes.push(source.data);
    }
    layer.addTo(handle.map);
    let name = source.name;
    for (let i = 2; this._names.includes(name); i++) {
      name = `${source.name} (${i})`;
    }
    this._names.push(name);
    handle.addOverlay(layer, name);
    handle.fit({
      type: 'GeometryCollection',
      geometries: this._shapes.map(s =>
        Array.isArray(s)
          ? {
              type: 'MultiPoint',
              coordinates: [
                [s[0], s[1]],
                [s[2], s[3]]
              ]
            }
          : s
      )
    });
    this.node.dataset.layers = String(this._names.length);
  }

  dispose(): void {
    this._handle?.dispose();
    this._handle = null;
    super.dispose();
  }

  private _mapNode: HTMLElement;
  private _noValue: string;
  private _handle: LeafletMap.IMapHandle | null = null;
  private _names: string[] = [];
  private _shapes: unknown[] = [];
}

/**
 * The shared map as a main-area tab.
 */
export class SharedMapPanel extends MainAreaWidget<SharedMapView> {
  constructor(trans: TranslationBundle) {
    super({ content: new SharedMapView(trans.__('no value')) });
    this.id = 'jp-rpc-shared-map';
    this.addClass('jp-rpc-SharedMapPanel');
    this.title.label = trans.__('Map');
    this.title.caption = trans.__('Results layered on one map');
    this.title.closable = true;
  }
}
