/**
 * The plugins of remote functions: the backends manager, the calls manager
 * and the "Remote functions" side panel with its commands.
 */
import { ILayoutRestorer } from '@jupyterlab/application';
import type {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IFileBrowserFactory } from '@jupyterlab/filebrowser';
import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { IClustersManager } from '../clusters/tokens';
import { NO_ARGS, PANEL_ARGS } from '../shared/commands';
import { OPEN_RESULT } from '../results/commands';
import { functionsIcon } from './icons';
// eslint-disable-next-line jupyter/prefer-lazy-imports -- backendsPlugin provides its manager from activate(), so it is needed at activation
import { BackendsManager } from './backends';
// eslint-disable-next-line jupyter/prefer-lazy-imports -- callsPlugin provides its manager from activate(), so it is needed at activation
import { CallsManager } from './calls';
import type { IPanelSettings } from './model';
// eslint-disable-next-line jupyter/prefer-lazy-imports -- the side panel is created and added to the shell (and restorer) at activation
import { FunctionsPanel } from './panel';
import { IBackendsManager, ICallsManager } from './tokens';

/**
 * The command IDs of the functions plugins (exported by the package).
 */
export namespace CommandIDs {
  /** Show and activate the "Remote functions" panel. */
  export const openFunctions = 'jupyter-rpc:open-functions';

  /** Reload the backends and their functions. */
  export const refreshFunctions = 'jupyter-rpc:refresh-functions';
}

/**
 * The backends and their function schemas.
 */
const backendsPlugin: JupyterFrontEndPlugin<IBackendsManager> = {
  id: 'jupyter-rpc:backends',
  description:
    'Provides the RPC backends configured on the server and their function schemas.',
  autoStart: true,
  provides: IBackendsManager,
  activate: (app: JupyterFrontEnd): IBackendsManager =>
    new BackendsManager({ serverSettings: app.serviceManager.serverSettings })
};

/**
 * Starting, following and cancelling calls.
 */
const callsPlugin: JupyterFrontEndPlugin<ICallsManager> = {
  id: 'jupyter-rpc:calls',
  description:
    'Starts remote function calls, follows their progress and cancels them.',
  autoStart: true,
  provides: ICallsManager,
  activate: (app: JupyterFrontEnd): ICallsManager => {
    const calls = new CallsManager({
      serverSettings: app.serviceManager.serverSettings
    });
    // The history survives a reload: the server keeps the recent calls.
    calls
      .loadRecent()
      .catch(reason =>
        console.warn('jupyter-rpc: cannot list the recent calls', reason)
      );
    return calls;
  }
};

/**
 * The "Remote functions" side panel.
 */
const functionsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-rpc:functions',
  description:
    'Adds the "Remote functions" side panel: browse backend functions, call them through a form, see progress and results.',
  autoStart: true,
  requires: [IBackendsManager, ICallsManager, IRenderMimeRegistry],
  optional: [
    ITranslator,
    ICommandPalette,
    ISettingRegistry,
    INotebookTracker,
    ILayoutRestorer,
    IClustersManager,
    IFileBrowserFactory
  ],
  activate: (
    app: JupyterFrontEnd,
    backends: IBackendsManager,
    calls: ICallsManager,
    rendermime: IRenderMimeRegistry,
    translator: ITranslator | null,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null,
    notebooks: INotebookTracker | null,
    restorer: ILayoutRestorer | null,
    clusters: IClustersManager | null,
    fileBrowserFactory: IFileBrowserFactory | null
  ): void => {
    translator = translator ?? nullTranslator;
    const trans = translator.load('jupyter_rpc');
    const panel = new FunctionsPanel({
      backends,
      calls,
      rendermime,
      translator,
      clusters,
      fileBrowserFactory
    });
    app.shell.add(panel, 'left', { rank: 900, type: 'Remote Functions' });
    restorer?.add(panel, 'jupyter-rpc-functions');

    // The results plugin's command (src/results), when it is there.
    panel.model.openResult = (callId, activate = true) => {
      if (app.commands.hasCommand(OPEN_RESULT)) {
        void app.commands.execute(OPEN_RESULT, { callId, activate });
      }
    };

    app.commands.addCommand(CommandIDs.openFunctions, {
      label: args =>
        args.isPalette
          ? trans.__('Open Remote Functions')
          : trans.__('Remote Functions'),
      caption: trans.__('Show the remote functions panel'),
      icon: args => (args.isPalette ? undefined : functionsIcon),
      describedBy: PANEL_ARGS,
      execute: () => app.shell.activateById(panel.id)
    });
    app.commands.addCommand(CommandIDs.refreshFunctions, {
      label: trans.__('Reload Remote Functions'),
      caption: trans.__('Reload the backends and their functions'),
      describedBy: NO_ARGS,
      execute: () => backends.refresh()
    });
    palette?.addItem({
      command: CommandIDs.openFunctions,
      category: trans.__('Remote Functions'),
      args: { isPalette: true }
    });
    palette?.addItem({
      command: CommandIDs.refreshFunctions,
      category: trans.__('Remote Functions')
    });

    if (notebooks) {
      const insert = async (code: string): Promise<void> => {
        const current = notebooks.currentWidget;
        if (!current) {
          return;
        }
        const { withoutKnownSetup } = await import('./python');
        const notebook = current.content;
        // The import and connect lines only once per notebook.
        const sources = notebook.widgets
          .filter(cell => cell.model.type === 'code')
          .map(cell => cell.model.sharedModel.getSource());
        NotebookActions.insertBelow(notebook);
        NotebookActions.changeCellType(notebook, 'code');
        notebook.activeCell?.model.sharedModel.setSource(
          withoutKnownSetup(code, sources)
        );
        app.shell.activateById(current.id);
      };
      const update = (): void => {
        panel.model.insertCode = notebooks.currentWidget
          ? code => void insert(code)
          : null;
      };
      notebooks.currentChanged.connect(update);
      update();
    }

    if (settingRegistry) {
      const apply = (settings: ISettingRegistry.ISettings): void => {
        const historySize = settings.get('historySize').composite;
        const defaultTimeout = settings.get('defaultTimeout').composite;
        const confirmCancel = settings.get('confirmCancel').composite;
        calls.historySize = typeof historySize === 'number' ? historySize : 50;
        const next: IPanelSettings = {
          defaultTimeout:
            typeof defaultTimeout === 'number' ? defaultTimeout : 0,
          confirmCancel: confirmCancel === true
        };
        panel.model.settings = next;
      };
      settingRegistry
        .load(functionsPlugin.id)
        .then(settings => {
          apply(settings);
          settings.changed.connect(apply);
        })
        .catch(reason =>
          console.error('jupyter-rpc: cannot load the settings', reason)
        );
    }
  }
};

export default [backendsPlugin, callsPlugin, functionsPlugin];
