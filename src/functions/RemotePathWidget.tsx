/**
 * Path arguments (`format: "path"`, `"file-path"`, `"directory-path"`): a
 * text input with a "Browse…" button that picks a file or folder on a cluster
 * in JupyterLab's own file browser over the cluster's drive (`rpc-<cluster>`).
 */
import { Dialog } from '@jupyterlab/apputils';
import type { FileBrowser, IFileBrowserFactory } from '@jupyterlab/filebrowser';
import type { Contents } from '@jupyterlab/services';
import type { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { Button } from '@jupyterlab/ui-components';
import type { ISignal } from '@lumino/signaling';
import { Signal } from '@lumino/signaling';
import { Panel } from '@lumino/widgets';
import type { WidgetProps } from '@rjsf/utils';
import React, { useEffect, useReducer } from 'react';
import { ClusterSelect } from '../clusters/ClusterSelect';
import type { IClustersManager } from '../clusters/tokens';
import {
  driveNameOf,
  rootsFromListing,
  splitGlobalPath,
  toDrivePath,
  toRealPath
} from '../files/paths';
import type { IRemoteModel } from '../files/api';
import type { IRemoteContentsModel, IResolvedRoot } from '../files/paths';
import { ViewWidget } from '../shared/viewwidget';

/**
 * What the path widget needs to browse the clusters (the form's
 * `formContext.remotePaths`); without it path fields are plain text inputs.
 */
export interface IRemotePathContext {
  clusters: IClustersManager;
  factory: IFileBrowserFactory;
  translator: ITranslator;
}

/**
 * What a path field accepts: any path, a file or a folder.
 */
export type PathKind = 'path' | 'file-path' | 'directory-path';

/**
 * The rjsf widget of path fields: the form's own text input, and a
 * "Browse…" button when there are clusters to browse.
 */
export function RemotePathWidget(props: WidgetProps): JSX.Element {
  const { registry, schema, uiSchema } = props;
  const context = (
    registry.formContext as { remotePaths?: unknown } | undefined
  )?.remotePaths as IRemotePathContext | null | undefined;
  const TextWidget = registry.widgets.TextWidget;
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    if (!context) {
      return;
    }
    const onChanged = (): void => rerender();
    context.clusters.changed.connect(onChanged);
    return () => {
      context.clusters.changed.disconnect(onChanged);
    };
  }, [context]);
  const input = <TextWidget {...props} uiSchema={uiSchema} />;
  if (!context || !context.clusters.clusters.length) {
    return input;
  }
  const trans = context.translator.load('jupyter_rpc');
  const kind: PathKind =
    schema.format === 'file-path' || schema.format === 'directory-path'
      ? schema.format
      : 'path';
  const label = props.label || props.name || '';
  const browse = async (): Promise<void> => {
    const chosen = await pickRemotePath(context, {
      kind,
      current: typeof props.value === 'string' ? props.value : '',
      title: label
        ? trans.__('Choose %1 on a cluster', label.replace(/ \*$/, ''))
        : trans.__('Choose a path on a cluster')
    });
    if (chosen !== null) {
      props.onChange(chosen);
    }
  };
  return (
    <div className="jp-rpc-RemotePath">
      <div className="jp-rpc-RemotePath-input">{input}</div>
      <Button
        type="button"
        small
        className="jp-rpc-RemotePath-browse"
        disabled={props.disabled || props.readonly}
        title={trans.__('Choose a file on a cluster')}
        aria-label={trans.__(
          'Browse clusters for %1',
          label || trans.__('a path')
        )}
        onClick={() => void browse()}
      >
        {trans.__('Browse…')}
      </Button>
    </div>
  );
}

/**
 * Options of {@link pickRemotePath}.
 */
export interface IPickOptions {
  /** What may be chosen. */
  kind: PathKind;
  /** The field's value: an absolute path opens the browser at its folder. */
  current: string;
  /** The dialog's title. */
  title: string;
}

/**
 * Show the dialog: a cluster picker and the cluster's files. Resolves with the
 * absolute path on the cluster of what the user chose (double-click on a
 * file, or Select), or `null` when cancelled.
 */
export async function pickRemotePath(
  context: IRemotePathContext,
  options: IPickOptions
): Promise<string | null> {
  const trans = context.translator.load('jupyter_rpc');
  const body = new RemotePathPicker({ ...context, ...options });
  const dialog = new Dialog<string | null>({
    title: options.title,
    body,
    buttons: [
      Dialog.cancelButton({ label: trans.__('Cancel') }),
      Dialog.okButton({ label: trans.__('Select') })
    ]
  });
  dialog.addClass('jp-rpc-RemotePathDialog');
  body.chosen.connect(() => dialog.resolve(1));
  const result = await dialog.launch();
  return result.button.accept ? (result.value ?? null) : null;
}

/**
 * The dialog's body: a cluster picker above Lab's file browser.
 */
export class RemotePathPicker
  extends Panel
  implements Dialog.IBodyWidget<string | null>
{
  constructor(options: RemotePathPicker.IOptions) {
    super();
    this._clusters = options.clusters;
    this._factory = options.factory;
    this._kind = options.kind;
    this._trans = options.translator.load('jupyter_rpc');
    this.addClass('jp-rpc-RemotePathPicker');
    this._picker = new ViewWidget(() => this._pickerView());
    this._picker.addClass('jp-rpc-RemotePathPicker-picker');
    this.addWidget(this._picker);
    this._body = new Panel();
    this._body.addClass('jp-rpc-RemotePathPicker-body');
    this.addWidget(this._body);

    const names = this._clusters.clusters.map(c => c.name);
    const first =
      Private.state.lastCluster && names.includes(Private.state.lastCluster)
        ? Private.state.lastCluster
        : (names[0] ?? '');
    this._clusters.changed.connect(this._renderPicker, this);
    void this.selectCluster(first, options.current);
  }

  /** Emitted when the user double-clicks what to choose. */
  get chosen(): ISignal<this, string> {
    return this._chosen;
  }

  /** The selected cluster. */
  get cluster(): string {
    return this._cluster;
  }

  /** The file browser of the selected cluster. */
  get browser(): FileBrowser | null {
    return this._browser;
  }

  /**
   * The absolute path on the cluster of the selected item; with nothing
   * selected, of the folder shown (unless only files may be chosen).
   */
  getValue(): string | null {
    const browser = this._browser;
    if (!browser) {
      return null;
    }
    const selected = Array.from(browser.selectedItems());
    if (selected.length) {
      return this._realPath(selected[0]);
    }
    if (this._kind === 'file-path') {
      return null;
    }
    return toRealPath(splitGlobalPath(browser.model.path).path, this._roots);
  }

  /**
   * Show a cluster's files, at the folder of `path` (an absolute path on it)
   * when it lies under one of the cluster's roots.
   */
  async selectCluster(cluster: string, path = ''): Promise<void> {
    this._browser?.dispose();
    this._browser = null;
    this._cluster = cluster;
    this._roots = [];
    this._error = '';
    this._renderPicker();
    if (!cluster) {
      return;
    }
    Private.state.lastCluster = cluster;
    const driveName = driveNameOf(cluster);
    const browser = this._factory.createFileBrowser(
      `jp-rpc-path-picker-${Private.state.nextId++}`,
      { driveName, restore: false, state: null, auto: false }
    );
    browser.addClass('jp-rpc-RemotePathPicker-browser');
    browser.model.connectionFailure.connect((_, error) => {
      if (browser === this._browser) {
        this._setError(error);
      }
    }, this);
    // The factory's browsers open files in an editor on double-click (they
    // take no `handleOpenFile`): in this dialog a double-click chooses.
    browser.node.addEventListener(
      'dblclick',
      event => this._onDblClick(browser, event),
      true
    );
    this._browser = browser;
    this._body.addWidget(browser);
    try {
      const top = await browser.model.manager.services.contents.get(
        `${driveName}:`,
        { content: true }
      );
      if (browser !== this._browser) {
        return;
      }
      this._roots = rootsFromListing(
        (Array.isArray(top.content) ? top.content : []) as IRemoteModel[]
      );
      await this._open(browser, path);
    } catch (error) {
      if (browser === this._browser) {
        this._setError(error);
      }
    }
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._clusters.changed.disconnect(this._renderPicker, this);
    this._browser?.dispose();
    this._browser = null;
    Signal.clearData(this);
    super.dispose();
  }

  /**
   * Open the browser at the folder of an absolute path (selecting the file),
   * or at the top level.
   */
  private async _open(browser: FileBrowser, path: string): Promise<void> {
    const local = path.startsWith('/') ? toDrivePath(path, this._roots) : null;
    if (local) {
      try {
        const slash = local.lastIndexOf('/');
        if (slash < 0) {
          await browser.model.cd(`/${local}`);
          return;
        }
        await browser.model.cd(`/${local.slice(0, slash)}`);
        await browser.selectItemByName(local.slice(slash + 1));
        return;
      } catch {
        // Gone or not readable: show the top level instead.
      }
    }
    await browser.model.cd('/');
  }

  private _onDblClick(browser: FileBrowser, event: MouseEvent): void {
    const target = event.target as HTMLElement | null;
    const node = target?.closest('.jp-DirListing-item');
    if (!node || node.getAttribute('data-isdir') === 'true') {
      return; // Folders open as usual.
    }
    event.preventDefault();
    event.stopPropagation();
    if (this._kind === 'directory-path') {
      return;
    }
    const name = node
      .querySelector('.jp-DirListing-itemText')
      ?.textContent?.trim();
    const item =
      Array.from(browser.model.items()).find(i => i.name === name) ??
      Array.from(browser.selectedItems())[0];
    const real = item ? this._realPath(item) : null;
    if (real) {
      this._chosen.emit(real);
    }
  }

  private _realPath(item: Contents.IModel): string | null {
    const real = (item as IRemoteContentsModel).real_path;
    if (real) {
      return real;
    }
    return toRealPath(splitGlobalPath(item.path).path, this._roots);
  }

  private _setError(error: unknown): void {
    this._error =
      error instanceof Error ? error.message : error ? String(error) : '';
    this._renderPicker();
  }

  private _renderPicker(): void {
    this._picker.update();
  }

  private _pickerView(): JSX.Element {
    const trans = this._trans;
    const clusters = this._clusters.clusters;
    return (
      <div className="jp-rpc-RemotePathPicker-row">
        <ClusterSelect
          className="jp-rpc-RemotePathPicker-label"
          clusters={clusters}
          value={this._cluster}
          onChange={name => void this.selectCluster(name)}
          trans={trans}
        />
        {this._error && (
          <span className="jp-rpc-RemotePathPicker-error" role="alert">
            {this._error}
          </span>
        )}
      </div>
    );
  }

  private _clusters: IClustersManager;
  private _factory: IFileBrowserFactory;
  private _kind: PathKind;
  private _trans: TranslationBundle;
  private _picker: ViewWidget;
  private _body: Panel;
  private _cluster = '';
  private _browser: FileBrowser | null = null;
  private _roots: IResolvedRoot[] = [];
  private _error = '';
  private _chosen = new Signal<this, string>(this);
}

/**
 * The namespace of `RemotePathPicker`.
 */
export namespace RemotePathPicker {
  export interface IOptions extends IRemotePathContext {
    kind: PathKind;
    /** An absolute path to start at (its folder). */
    current: string;
  }
}

/**
 * A namespace for private data.
 */
namespace Private {
  /**
   * The state shared by the pickers (an object, so the namespace's binding
   * stays constant while its fields change).
   */
  export const state = {
    /** The cluster picked last (the next dialog starts there). */
    lastCluster: '',
    /** Makes the browsers' ids unique. */
    nextId: 0
  };
}
