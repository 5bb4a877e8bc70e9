/**
 * The "Remote files" side panel: a cluster picker above JupyterLab's own file
 * browser over the cluster's `RemoteDrive`.
 */
import type { Message } from '@lumino/messaging';
import type { FileBrowser, IFileBrowserFactory } from '@jupyterlab/filebrowser';
import { Uploader } from '@jupyterlab/filebrowser';
import type { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import {
  Button,
  LabIcon,
  newFolderIcon,
  refreshIcon
} from '@jupyterlab/ui-components';
import type { Contents } from '@jupyterlab/services';
import type { ISignal } from '@lumino/signaling';
import type { CommandRegistry } from '@lumino/commands';
import { Signal } from '@lumino/signaling';
import { Panel, PanelLayout, Widget } from '@lumino/widgets';
import React from 'react';
import { ClusterSelect } from '../clusters/ClusterSelect';
import { ClusterTerminalsList } from '../clusters/ClusterTerminals';
import type { ClusterTerminalsRegistry } from '../clusters/terminals';
import type { IClustersManager } from '../clusters/tokens';
import { errorText } from '../shared/errors';
import { missingPermissionText, permissions } from '../shared/permissions';
import { ActionButton } from '../shared/toolbar';
import { ViewWidget } from '../shared/viewwidget';
import type { RemoteDrive } from './drive';
import { normalizeDrivePath } from './paths';

/**
 * Lab's upload button as an action (no `aria-pressed`: see shared/toolbar.ts).
 */
class UploadButton extends Uploader {
  get pressed(): boolean {
    return undefined as unknown as boolean;
  }

  set pressed(_value: boolean) {
    // An action is never pressed.
  }
}

const REMOTE_FILES_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="none" stroke="#616161" stroke-width="1.9" stroke-linecap="round" stroke-linejoin="round">
    <path d="M3 7.5V18a1.5 1.5 0 0 0 1.5 1.5h8" />
    <path d="M3 7.5A1.5 1.5 0 0 1 4.5 6H9l2 2h8.5A1.5 1.5 0 0 1 21 9.5V12" />
    <path d="M16 21l5-5M21 20v-4h-4" />
  </g>
</svg>`;

/**
 * The icon of the "Remote files" panel.
 */
export const remoteFilesIcon = new LabIcon({
  name: 'jupyter-rpc:remote-files',
  svgstr: REMOTE_FILES_SVG
});

/**
 * The folder of a drive path (`''` for the top level).
 */
function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

/**
 * The side panel.
 */
export class RemoteFilesPanel extends Panel {
  constructor(options: RemoteFilesPanel.IOptions) {
    super();
    this._clusters = options.clusters;
    this._factory = options.factory;
    this._drives = options.drives;
    this._translator = options.translator;
    this._trans = options.translator.load('jupyter_rpc');
    this._terminals = options.terminals;
    const trans = this._trans;
    this.id = 'jp-rpc-files';
    this.addClass('jp-rpc-FilesPanel');
    this.title.icon = remoteFilesIcon;
    this.addClass('jp-SidePanel');
    this.title.caption = trans.__('Remote files');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', trans.__('Remote files'));

    const heading = new Widget({ node: document.createElement('h2') });
    heading.node.textContent = trans.__('Remote files');
    heading.addClass('jp-text-truncated');
    heading.addClass('jp-rpc-FilesPanel-heading');
    this.addWidget(heading);

    this._picker = new ViewWidget(() => this._pickerView());
    this._picker.addClass('jp-rpc-FilesPanel-picker');
    this.addWidget(this._picker);
    this._body = new Panel();
    this._body.addClass('jp-rpc-FilesPanel-body');
    this.addWidget(this._body);
    this._renderPicker();
    this._clusters.changed.connect(this._onClustersChanged, this);
    void this._clusters.ready.then(() => this._onClustersChanged());
  }

  /** The selected cluster (`''` when there is none). */
  get cluster(): string {
    return this._cluster;
  }

  /** The file browser of the selected cluster. */
  get browser(): FileBrowser | null {
    return this._browser;
  }

  /** Emitted when the selected cluster's browser changes. */
  get browserChanged(): ISignal<this, FileBrowser | null> {
    return this._browserChanged;
  }

  /** The drive of a cluster (registered by the plugin). */
  drive(cluster: string): RemoteDrive | undefined {
    return this._drives(cluster);
  }

  /**
   * Show a cluster's files (creating its browser); resolves once the browser
   * listed its first folder.
   */
  async selectCluster(cluster: string): Promise<FileBrowser | null> {
    if (cluster === this._cluster && this._browser) {
      return this._browser;
    }
    this._cluster = cluster;
    this._error = '';
    this._disposeBrowser();
    const drive = this._drives(cluster);
    if (!drive) {
      this._renderPicker();
      return null;
    }
    drive.resetConnectionPrompts();
    const browser = this._factory.createFileBrowser(`jp-rpc-files-${cluster}`, {
      driveName: drive.name,
      refreshInterval: 10000
    });
    browser.addClass('jp-rpc-FilesPanel-browser');
    browser.title.label = this._clusters.get(cluster)?.display_name || cluster;
    this._addToolbar(browser);
    browser.model.connectionFailure.connect((_, error) => {
      if (browser === this._browser) {
        this._setError(error);
      }
    }, this);
    browser.model.refreshed.connect(() => {
      if (browser === this._browser && this._error) {
        this._setError(null);
      }
    }, this);
    // Lab's browser misses changes on other drives (it compares paths with
    // the drive prefixed twice): refresh when the shown folder changed.
    const onChange = (_: unknown, change: Contents.IChangedArgs): void => {
      const shown = normalizeDrivePath(
        browser.model.path.slice(drive.name.length + 1)
      );
      const touched = [change.oldValue?.path, change.newValue?.path].some(
        p => typeof p === 'string' && parentOf(normalizeDrivePath(p)) === shown
      );
      if (touched && !browser.isDisposed) {
        void browser.model.refresh();
      }
    };
    drive.fileChanged.connect(onChange);
    browser.disposed.connect(() => drive.fileChanged.disconnect(onChange));
    this._browser = browser;
    this._body.addWidget(browser);
    this._renderPicker();
    this._browserChanged.emit(browser);
    try {
      await browser.model.restored;
    } catch {
      // Restoring a lost folder falls back to the top level.
    }
    return browser;
  }

  /**
   * Open the panel's browser at a drive path (a folder, or a file's folder
   * with the file selected).
   */
  async showPath(cluster: string, path: string): Promise<void> {
    const browser = await this.selectCluster(cluster);
    const drive = this._drives(cluster);
    if (!browser || !drive) {
      throw new Error(
        this._trans.__('There is no cluster named "%1".', cluster)
      );
    }
    const local = normalizeDrivePath(path);
    const model = await drive.get(local, { content: false });
    if (model.type === 'directory') {
      await browser.model.cd(`/${local}`);
      return;
    }
    const slash = local.lastIndexOf('/');
    await browser.model.cd(`/${slash < 0 ? '' : local.slice(0, slash)}`);
    await browser.selectItemByName(model.name);
  }

  /** Retry after a failure: asks for host trust / passwords again. */
  async retry(): Promise<void> {
    const browser = this._browser;
    this._drives(this._cluster)?.resetConnectionPrompts();
    this._setError(null);
    if (browser) {
      await browser.model.cd('.');
    } else if (this._cluster) {
      await this.selectCluster(this._cluster);
    }
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._clusters.changed.disconnect(this._onClustersChanged, this);
    this._disposeBrowser();
    Signal.clearData(this);
    super.dispose();
  }

  private _addToolbar(browser: FileBrowser): void {
    const trans = this._trans;
    // Without 'write' (files are read-only for this user) no New Folder or
    // Upload: a notice says why instead (the drive opens files read-only).
    const readOnly = (): Widget => {
      const notice = new Widget();
      notice.addClass('jp-rpc-PermissionNotice');
      notice.node.setAttribute('role', 'note');
      notice.node.textContent = trans.__('Read-only');
      notice.node.title = missingPermissionText('write', trans);
      return notice;
    };
    if (!permissions.current.write) {
      browser.toolbar.addItem('read-only', readOnly());
    } else {
      browser.toolbar.addItem(
        'new-folder',
        new ActionButton({
          icon: newFolderIcon,
          tooltip: trans.__('New Folder'),
          onClick: () =>
            void browser.createNewDirectory().catch(e => this._setError(e))
        })
      );
      browser.toolbar.addItem(
        'upload',
        new UploadButton({
          model: browser.model,
          translator: this._translator
        })
      );
      // The answer may come after the browser was made.
      void permissions.load().then(found => {
        if (found.write || browser.isDisposed) {
          return;
        }
        const toolbar = browser.toolbar;
        const names = Array.from(toolbar.names());
        const items = (toolbar.layout as PanelLayout).widgets.slice();
        names.forEach((name, index) => {
          if (name === 'new-folder' || name === 'upload') {
            items[index]?.dispose();
          }
        });
        toolbar.insertItem(0, 'read-only', readOnly());
      });
    }
    browser.toolbar.addItem(
      'refresh',
      new ActionButton({
        icon: refreshIcon,
        tooltip: trans.__('Refresh the file list'),
        onClick: () => void this.retry()
      })
    );
  }

  private _disposeBrowser(): void {
    const browser = this._browser;
    this._browser = null;
    if (browser) {
      browser.dispose();
      this._browserChanged.emit(null);
    }
  }

  private _setError(error: unknown): void {
    this._error = error ? errorText(error) : '';
    this._renderPicker();
  }

  private _onClustersChanged(): void {
    const names = this._clusters.clusters.map(c => c.name);
    if (this._cluster && !names.includes(this._cluster)) {
      this._cluster = '';
      this._disposeBrowser();
    }
    if (!this._cluster && names.length && this.isVisible) {
      void this.selectCluster(names[0]);
      return;
    }
    this._renderPicker();
  }

  /**
   * A file browser becomes the file browser tracker's current one when it is
   * made, and the launcher creates new files in the current browser's folder:
   * made while this panel is hidden, it would send "New Notebook" to a
   * cluster. So the first browser is made when the panel is first shown.
   */
  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    const names = this._clusters.clusters.map(c => c.name);
    if (!this._cluster && names.length) {
      void this.selectCluster(names[0]);
    }
    this._renderPicker(); // the open terminals' list follows while shown
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this._renderPicker();
  }

  private _renderPicker(): void {
    this._picker.update();
  }

  private _pickerView(): JSX.Element {
    const trans = this._trans;
    const clusters = this._clusters.clusters;
    const current = this._clusters.get(this._cluster);
    const listError = this._clusters.error;
    const stateError =
      current && current.state === 'error' && current.error
        ? current.error.message
        : '';
    const message = this._error || stateError;
    return (
      <div className="jp-rpc-FilesPanel-pickerRow">
        <ClusterSelect
          className="jp-rpc-FilesPanel-label"
          clusters={clusters}
          value={this._cluster}
          onChange={name => void this.selectCluster(name)}
          trans={trans}
        />
        {!clusters.length && !listError && (
          <p className="jp-rpc-FilesPanel-empty">
            {trans.__('No clusters are configured.')}
          </p>
        )}
        {listError && (
          <p className="jp-rpc-FilesPanel-error" role="alert">
            {trans.__('Cannot list the clusters: %1', errorText(listError))}
          </p>
        )}
        {message && (
          <div className="jp-rpc-FilesPanel-error" role="alert">
            <span>{message}</span>
            <Button
              small
              className="jp-rpc-FilesPanel-retry"
              onClick={() => void this.retry()}
            >
              {trans.__('Retry')}
            </Button>
          </div>
        )}
        {this._terminals && this._cluster && (
          <ClusterTerminalsList
            key={this._cluster}
            terminals={this._terminals.terminals.get(this._cluster)}
            user={current?.user ?? ''}
            commands={this._terminals.commands}
            trans={trans}
            active={this.isVisible}
          />
        )}
      </div>
    );
  }

  private _clusters: IClustersManager;
  private _factory: IFileBrowserFactory;
  private _drives: (cluster: string) => RemoteDrive | undefined;
  private _translator: ITranslator;
  private _trans: TranslationBundle;
  private _picker: ViewWidget;
  private _terminals: RemoteFilesPanel.IOptions['terminals'];
  private _body: Panel;
  private _cluster = '';
  private _browser: FileBrowser | null = null;
  private _error = '';
  private _browserChanged = new Signal<this, FileBrowser | null>(this);
}

/**
 * The namespace of `RemoteFilesPanel`.
 */
export namespace RemoteFilesPanel {
  export interface IOptions {
    clusters: IClustersManager;
    factory: IFileBrowserFactory;
    /** The registered drive of a cluster. */
    drives: (cluster: string) => RemoteDrive | undefined;
    translator: ITranslator;
    /** The clusters' open terminals, listed under the cluster picker. */
    terminals?: {
      terminals: ClusterTerminalsRegistry;
      commands: CommandRegistry;
    };
  }
}
