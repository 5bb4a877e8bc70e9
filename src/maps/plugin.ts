/**
 * Maps: geo results render as maps everywhere rendermime renders (the results
 * tab, the panel, notebook cells), *Add to map* layers results on one shared
 * map, and the site's base map comes from the settings. Leaflet itself loads
 * with the first map shown.
 */
import type {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import type { Widget } from '@lumino/widgets';
import { setMapConfig } from './config';
import type { IMapConfig } from './config';
// eslint-disable-next-line jupyter/prefer-lazy-imports -- the renderer factory is registered at activation (notebooks clone the registry as they open); it is small, and Leaflet itself loads with the first map
import { geoRendererFactory } from './renderers';
import type { IMapLayerSource } from './renderers';
import type { SharedMapPanel } from './SharedMap';

/**
 * The command that opens the shared map.
 */
export const OPEN_MAP = 'jupyter-rpc:open-map';

const PLUGIN_ID = 'jupyter-rpc:maps';

const mapsPlugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'Shows GeoJSON and raster results on maps, and layers several on one map.',
  autoStart: true,
  requires: [IRenderMimeRegistry],
  optional: [ISettingRegistry, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    rendermime: IRenderMimeRegistry,
    settings: ISettingRegistry | null,
    translator: ITranslator | null
  ): void => {
    const trans = (translator ?? nullTranslator).load('jupyter_rpc');
    let shared: SharedMapPanel | null = null;
    const openMap = async (): Promise<SharedMapPanel> => {
      if (!shared || shared.isDisposed) {
        const { SharedMapPanel } = await import('./SharedMap');
        if (!shared || shared.isDisposed) {
          shared = new SharedMapPanel(trans);
          app.shell.add(shared as Widget, 'main', { mode: 'split-right' });
        }
      }
      app.shell.activateById(shared.id);
      return shared;
    };
    const addToMap = (source: IMapLayerSource): void => {
      void openMap().then(panel => panel.content.add(source));
    };
    app.commands.addCommand(OPEN_MAP, {
      label: trans.__('Open the Shared Map'),
      caption: trans.__('Results added with "Add to map", layered on one map'),
      describedBy: { args: { type: 'object', properties: {} } },
      execute: () => openMap()
    });
    rendermime.addFactory(geoRendererFactory({ addToMap, trans }), 40);

    if (settings) {
      void settings.load(PLUGIN_ID).then(
        loaded => {
          const apply = (): void =>
            setMapConfig(loaded.composite as unknown as Partial<IMapConfig>);
          apply();
          loaded.changed.connect(apply);
        },
        reason => console.warn('jupyter-rpc: map settings not loaded', reason)
      );
    }
  }
};

export default [mapsPlugin];
