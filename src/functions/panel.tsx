import type { IFileBrowserFactory } from '@jupyterlab/filebrowser';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import type { ITranslator } from '@jupyterlab/translation';
import {
  clearIcon,
  ReactWidget,
  refreshIcon,
  SidePanel,
  Toolbar
} from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';
import { AccordionPanel, Widget } from '@lumino/widgets';
import React from 'react';
import type { IClustersManager } from '../clusters/tokens';
import { ActionButton } from '../shared/toolbar';
import { functionsIcon } from './icons';
import type { IBackendsManager, ICallsManager } from './tokens';
import { CallHistory } from './CallHistory';
import { FunctionBrowser } from './FunctionBrowser';
import { FunctionCall } from './FunctionCall';
import { FunctionsPanelModel } from './model';
import type { IRemotePathContext } from './RemotePathWidget';

/**
 * The "Remote functions" side panel: the functions, the selected function's
 * form and result, and this session's calls, in collapsible sections.
 */
export class FunctionsPanel extends SidePanel {
  /**
   * Create the panel.
   */
  constructor(options: FunctionsPanel.IOptions) {
    const { backends, calls, rendermime, translator } = options;
    super({ translator });
    const trans = translator.load('jupyter_rpc');
    this.model = options.model ?? new FunctionsPanelModel();
    this._backends = backends;
    this.id = 'jp-rpc-functions';
    this.addClass('jp-rpc-FunctionsPanel');
    this.title.icon = functionsIcon;
    this.title.caption = trans.__('Remote functions');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', trans.__('Remote functions'));

    const heading = new Widget({ node: document.createElement('h2') });
    heading.node.textContent = trans.__('Remote functions');
    heading.addClass('jp-text-truncated');
    this.header.addWidget(heading);

    const model = this.model;
    const browser: Toolbar.IWidgetToolbar = ReactWidget.create(
      <FunctionBrowser model={model} backends={backends} trans={trans} />
    );
    browser.addClass('jp-rpc-FunctionsPanel-section');
    browser.title.label = trans.__('Functions');
    browser.toolbar = new Toolbar();
    browser.toolbar.addItem(
      'refresh',
      new ActionButton({
        icon: refreshIcon,
        tooltip: trans.__('Reload the backends and their functions'),
        onClick: () => void backends.refresh()
      })
    );

    const remotePaths: IRemotePathContext | null =
      options.clusters && options.fileBrowserFactory
        ? {
            clusters: options.clusters,
            factory: options.fileBrowserFactory,
            translator
          }
        : null;
    const call = ReactWidget.create(
      <FunctionCall
        remotePaths={remotePaths}
        model={model}
        backends={backends}
        calls={calls}
        rendermime={rendermime}
        translator={translator}
        trans={trans}
      />
    );
    call.addClass('jp-rpc-FunctionsPanel-section');
    call.title.label = trans.__('Call');

    const history: Toolbar.IWidgetToolbar = ReactWidget.create(
      <CallHistory
        model={model}
        backends={backends}
        calls={calls}
        trans={trans}
      />
    );
    history.addClass('jp-rpc-FunctionsPanel-section');
    history.title.label = trans.__('History');
    history.toolbar = new Toolbar();
    history.toolbar.addItem(
      'clear',
      new ActionButton({
        icon: clearIcon,
        tooltip: trans.__('Clear the finished calls'),
        onClick: () => calls.clear()
      })
    );

    this.addWidget(browser);
    this.addWidget(call);
    this.addWidget(history);
    if (this.content instanceof AccordionPanel) {
      this.content.setRelativeSizes([3, 6, 2]);
    }
  }

  /**
   * The panel's UI state.
   */
  readonly model: FunctionsPanelModel;

  /**
   * Load the backends the first time the panel shows (listing functions
   * starts the backends, so not before a user asks for them).
   */
  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    if (!this._loaded) {
      this._loaded = true;
      void this._backends.refresh();
    }
  }

  private _backends: IBackendsManager;
  private _loaded = false;
}

/**
 * The namespace for `FunctionsPanel` statics.
 */
export namespace FunctionsPanel {
  /**
   * Options to create the panel.
   */
  export interface IOptions {
    backends: IBackendsManager;
    calls: ICallsManager;
    rendermime: IRenderMimeRegistry;
    translator: ITranslator;
    model?: FunctionsPanelModel;
    /**
     * The clusters: path arguments get a "Browse…" button that picks a file
     * on one (with {@link IOptions.fileBrowserFactory}).
     */
    clusters?: IClustersManager | null;
    /** Creates the file browser of the path picker. */
    fileBrowserFactory?: IFileBrowserFactory | null;
  }
}
