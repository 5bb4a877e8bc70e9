import { LabIcon } from '@jupyterlab/ui-components';

/**
 * "ƒ(x)" drawn with strokes, themed through `jp-icon3`.
 */
const FUNCTIONS_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="none" stroke="#616161" stroke-width="1.9" stroke-linecap="round" stroke-linejoin="round">
    <path d="M8.2 4.2c-1.9-.5-3 .4-3.3 2.3L3.3 19.8" />
    <path d="M2.6 10h5" />
    <path d="M11.6 7.2c-2.1 2.9-2.1 6.7 0 9.6" />
    <path d="M13.6 9.4l4.2 5.2M17.8 9.4l-4.2 5.2" />
    <path d="M19.8 7.2c2.1 2.9 2.1 6.7 0 9.6" />
  </g>
</svg>`;

/**
 * The icon of the "Remote functions" panel.
 */
export const functionsIcon = new LabIcon({
  name: 'jupyter-rpc:functions',
  svgstr: FUNCTIONS_SVG
});
