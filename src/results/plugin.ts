/**
 * Results in the main area: the command that opens a call's result as a tab
 * (from the Remote functions panel, its history, or by itself for a wide
 * result) and the tracker that brings the tabs back after a reload.
 */
import { ILayoutRestorer } from '@jupyterlab/application';
import type {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { WidgetTracker } from '@jupyterlab/apputils';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { IBackendsManager, ICallsManager } from '../functions/tokens';
// eslint-disable-next-line jupyter/prefer-lazy-imports -- restored tabs are created while the layout is restored, at activation
import { ResultPanel } from './ResultView';

import { OPEN_RESULT } from './commands';

export { OPEN_RESULT };

/**
 * A call's result as a main-area tab.
 */
const resultsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-rpc:results',
  description:
    "Opens a remote function call's result in a main-area tab, rendered as a notebook output.",
  autoStart: true,
  requires: [ICallsManager, IBackendsManager, IRenderMimeRegistry],
  optional: [ITranslator, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    calls: ICallsManager,
    backends: IBackendsManager,
    rendermime: IRenderMimeRegistry,
    translator: ITranslator | null,
    restorer: ILayoutRestorer | null
  ): void => {
    const trans = (translator ?? nullTranslator).load('jupyter_rpc');
    const tracker = new WidgetTracker<ResultPanel>({
      namespace: 'jupyter-rpc-result'
    });

    app.commands.addCommand(OPEN_RESULT, {
      label: trans.__('Open Result in a Tab'),
      caption: trans.__(
        "Open a remote function call's result in the main area"
      ),
      describedBy: {
        args: {
          type: 'object',
          properties: {
            callId: { type: 'string', description: 'The call (its id).' },
            activate: {
              type: 'boolean',
              description: 'Show the tab (default true).'
            }
          },
          required: ['callId']
        }
      },
      execute: async args => {
        const callId = String(args.callId ?? '');
        if (!callId) {
          return null;
        }
        const activate = args.activate !== false;
        const open = tracker.find(w => w.content.callId === callId);
        if (open) {
          if (activate) {
            app.shell.activateById(open.id);
          }
          return open;
        }
        const panel = new ResultPanel({
          callId,
          calls,
          backends,
          rendermime,
          trans
        });
        panel.id = `jp-rpc-result-${callId}`;
        app.shell.add(panel, 'main', { activate });
        await tracker.add(panel);
        return panel;
      }
    });

    void restorer?.restore(tracker, {
      command: OPEN_RESULT,
      args: panel => ({ callId: panel.content.callId, activate: false }),
      name: panel => panel.content.callId
    });
  }
};

export default [resultsPlugin];
