/**
 * The site's map settings (the `jupyter-rpc:maps` plugin's settings, which a
 * site sets for everyone in JupyterLab's `overrides.json`). Kept here, outside
 * the lazily loaded map code, so the plugin can fill them in at start.
 */

/**
 * A tile layer of the base map.
 */
export interface ITileLayer {
  /** A name for the layer switch. */
  name?: string;
  /** URL template, `{z}/{x}/{y}` (and optionally `{s}`). */
  url: string;
  /** Attribution shown on the map (plain text or simple HTML). */
  attribution?: string;
  /** Highest zoom level the server has (default 18). */
  maxZoom?: number;
}

/**
 * The map settings.
 */
export interface IMapConfig {
  /**
   * Tile layers of the base map; none: the bundled world outline, and the
   * browser fetches nothing from elsewhere.
   */
  tiles: ITileLayer[];
}

const current: IMapConfig = { tiles: [] };

/**
 * The map settings in force.
 */
export function mapConfig(): IMapConfig {
  return current;
}

/**
 * Set the map settings (from the settings registry); invalid entries are
 * left out.
 */
export function setMapConfig(config: Partial<IMapConfig>): void {
  const tiles = Array.isArray(config.tiles) ? config.tiles : [];
  current.tiles = tiles.filter(
    (t): t is ITileLayer =>
      !!t && typeof t === 'object' && typeof t.url === 'string' && !!t.url
  );
}
