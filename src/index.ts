/**
 * The JupyterLab extension jupyter-rpc: the plugins of each feature
 * (functions, clusters, files, jobs), and what other extensions may use.
 */
import appsPlugins from './apps/plugin';
import clustersPlugins from './clusters/plugin';
import filesPlugins from './files/plugin';
import functionsPlugins from './functions/plugin';
import jobsPlugins from './jobs/plugin';
import kernelsPlugins from './kernels/plugin';
import mapsPlugins from './maps/plugin';
import resultsPlugins from './results/plugin';
import terminalsPlugins from './terminals/plugin';
import workflowsPlugins from './workflows/plugin';

export * from './functions/tokens';
export { CommandIDs } from './functions/plugin';

export default [
  ...functionsPlugins,
  ...clustersPlugins,
  ...filesPlugins,
  ...jobsPlugins,
  ...terminalsPlugins,
  ...appsPlugins,
  ...kernelsPlugins,
  ...resultsPlugins,
  ...workflowsPlugins,
  ...mapsPlugins
];
