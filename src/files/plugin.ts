/**
 * `jupyter-rpc:files`: one `RemoteDrive` per cluster registered with Lab's
 * contents manager, and the "Remote files" side panel with Lab's file browser.
 */
import { ILayoutRestorer } from '@jupyterlab/application';
import type {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Clipboard, ICommandPalette, Notification } from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import type { FileBrowser } from '@jupyterlab/filebrowser';
import { IFileBrowserFactory } from '@jupyterlab/filebrowser';
import type { Contents } from '@jupyterlab/services';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { ContextMenuSvg, copyIcon } from '@jupyterlab/ui-components';
import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import { IClustersManager } from '../clusters/tokens';
// eslint-disable-next-line jupyter/prefer-lazy-imports -- the panel lists the chosen cluster's open terminals from activation
import { ClusterTerminalsRegistry } from '../clusters/terminals';
import { errorText } from '../shared/errors';
import { NO_ARGS, PANEL_ARGS } from '../shared/commands';
// eslint-disable-next-line jupyter/prefer-lazy-imports -- what the user may do is asked once at activation, so commands are disabled before they are used
import { permissions } from '../shared/permissions';
// eslint-disable-next-line jupyter/prefer-lazy-imports -- one drive per cluster is registered with the contents manager at activation, before restored rpc-<cluster>: paths open
import { RemoteDrive } from './drive';
// eslint-disable-next-line jupyter/prefer-lazy-imports -- the side panel is created and added to the shell (and restorer) at activation
import { remoteFilesIcon, RemoteFilesPanel } from './panel';
import { remoteMenuHit, setRemoteMenuTarget } from './menu';
import { clusterOfDrive, isJobScript, splitGlobalPath } from './paths';
import type { IRemoteContentsModel } from './paths';

/**
 * The command IDs of the remote file browser.
 */
const ITEM = '.jp-DirListing-item[data-isdir]';
const FILE = '.jp-DirListing-item[data-isdir="false"]';
const DIR = '.jp-DirListing-item[data-isdir="true"]';
const NOTEBOOK = '.jp-DirListing-item[data-file-type="notebook"]';
const RUN_NOTEBOOK = 'jupyter-rpc:run-notebook-on-cluster';
const OPEN_TERMINAL_HERE = 'jupyter-rpc:open-terminal-here';
const CONTENT = '.jp-DirListing-content';
const HEADER = '.jp-DirListing-header';
const COPY_REMOTE_PATH = 'jupyter-rpc:copy-remote-path';
const SUBMIT_FILE = 'jupyter-rpc:submit-job-file';
const DELETE = 'jupyter-rpc:delete-remote';

export namespace FilesCommandIDs {
  /** Show the "Remote files" panel. */
  export const open = 'jupyter-rpc:open-remote-files';
  /** `{cluster, path}`: show a folder (absolute on the cluster, or a drive path). */
  export const openFolder = 'jupyter-rpc:open-remote-folder';
  /** Copy the absolute paths on the cluster of the selected items. */
  export const copyRemotePath = COPY_REMOTE_PATH;
  /** Submit the selected batch script (runs `jupyter-rpc:submit-job`). */
  export const submitFile = SUBMIT_FILE;
  /** The jobs panel's submit command: `{cluster, path}`. */
  export const submitJob = 'jupyter-rpc:submit-job';
}

/**
 * The remote browser's own context menu: Lab's file browser commands that work
 * on a cluster's drive, and ours, by the selectors Lab's menu uses. Lab's
 * "Open in New Browser Tab", "Copy Shareable Link", "Copy Path" and "Copy
 * Download Link" are not in it: a cluster's file has no URL of the Jupyter
 * server a browser tab or a colleague could open, and its drive path
 * (`rpc-<cluster>:...`) is no path anyone can use ("Copy Remote Path" is).
 */
const MENU: ReadonlyArray<{
  command?: string;
  selector: string;
  rank: number;
}> = [
  { command: 'filebrowser:open', selector: ITEM, rank: 1 },
  { command: SUBMIT_FILE, selector: FILE, rank: 2 },
  // the workflows feature's entry (hidden when it is not installed)
  { command: RUN_NOTEBOOK, selector: NOTEBOOK, rank: 3 },
  { selector: ITEM, rank: 4 },
  { command: 'filebrowser:rename', selector: ITEM, rank: 5 },
  { command: DELETE, selector: ITEM, rank: 6 },
  { command: 'filebrowser:cut', selector: ITEM, rank: 7 },
  { command: 'filebrowser:copy', selector: ITEM, rank: 8 },
  { command: 'filebrowser:paste', selector: CONTENT, rank: 8.5 },
  { command: 'filebrowser:duplicate', selector: FILE, rank: 9 },
  { command: 'filebrowser:download', selector: FILE, rank: 9.5 },
  { selector: ITEM, rank: 12 },
  { command: COPY_REMOTE_PATH, selector: ITEM, rank: 14 },
  // the terminals feature's entry (hidden when it is not installed)
  { command: OPEN_TERMINAL_HERE, selector: DIR, rank: 4.5 },
  { command: OPEN_TERMINAL_HERE, selector: CONTENT, rank: 4.5 },
  { selector: CONTENT, rank: 50 },
  { command: 'filebrowser:create-new-file', selector: CONTENT, rank: 51 },
  { command: 'filebrowser:create-new-directory', selector: CONTENT, rank: 55 },
  { command: 'filebrowser:toggle-last-modified', selector: HEADER, rank: 14 },
  { command: 'filebrowser:toggle-file-size', selector: HEADER, rank: 16 }
];

/**
 * The remote file browser.
 */
export const filesPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-rpc:files',
  description:
    'Adds one contents drive per cluster (rpc-<cluster>:path opens in Lab’s editors and viewers) and the "Remote files" side panel with Lab’s file browser.',
  autoStart: true,
  requires: [IClustersManager, IFileBrowserFactory],
  optional: [ITranslator, ICommandPalette, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    clusters: IClustersManager,
    factory: IFileBrowserFactory,
    translator: ITranslator | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null
  ): void => {
    translator = translator ?? nullTranslator;
    const trans = translator.load('jupyter_rpc');
    const contents = app.serviceManager.contents;
    permissions.changed.connect(() => app.commands.notifyCommandChanged());
    void permissions.load();
    const drives = new Map<string, RemoteDrive>();

    // Drives cannot be removed from the contents manager: one per cluster
    // name ever seen, kept for the session.
    const syncDrives = (): void => {
      for (const cluster of clusters.clusters) {
        if (!drives.has(cluster.name)) {
          const drive = new RemoteDrive({
            cluster: cluster.name,
            serverSettings:
              clusters.serverSettings ?? app.serviceManager.serverSettings,
            withConnection: fn => clusters.withConnection(cluster.name, fn),
            translator: translator ?? undefined
          });
          contents.addDrive(drive);
          drives.set(cluster.name, drive);
        }
      }
    };
    clusters.changed.connect(syncDrives);
    syncDrives();

    const panel = new RemoteFilesPanel({
      clusters,
      factory,
      drives: name => drives.get(name),
      translator,
      terminals: {
        terminals: new ClusterTerminalsRegistry(
          () => clusters.serverSettings ?? app.serviceManager.serverSettings
        ),
        commands: app.commands
      }
    });
    app.shell.add(panel, 'left', { rank: 910, type: 'Remote Files' });
    restorer?.add(panel, 'jupyter-rpc-files');

    // Lab's delete asks "move to trash?" when the server's own files go to
    // the trash; a cluster's files have no trash, so while a remote browser
    // is the current one its confirmation says "permanently delete".
    const trashSetting = PageConfig.getOption('delete_to_trash');
    factory.tracker.currentChanged.connect((_, browser) => {
      const remote =
        !!browser && clusterOfDrive(browser.model.driveName) !== null;
      PageConfig.setOption('delete_to_trash', remote ? 'false' : trashSetting);
    });

    /** The selected items of the remote browser, with their real paths. */
    const selection = (): IRemoteContentsModel[] => {
      const browser: FileBrowser | null = panel.browser;
      return browser
        ? (Array.from(browser.selectedItems()) as IRemoteContentsModel[])
        : [];
    };
    const realPath = async (item: Contents.IModel): Promise<string> => {
      const model = item as IRemoteContentsModel;
      if (model.real_path) {
        return model.real_path;
      }
      const { drive, path } = splitGlobalPath(item.path);
      const cluster = clusterOfDrive(drive);
      const real = cluster ? await drives.get(cluster)?.realPathOf(path) : null;
      if (!real) {
        throw new Error(
          trans.__('"%1" has no path on the cluster.', item.path)
        );
      }
      return real;
    };

    app.commands.addCommand(FilesCommandIDs.open, {
      label: args =>
        args.isPalette
          ? trans.__('Open Remote Files')
          : trans.__('Remote Files'),
      caption: trans.__('Show the files on your clusters'),
      icon: args => (args.isPalette ? undefined : remoteFilesIcon),
      describedBy: PANEL_ARGS,
      execute: () => app.shell.activateById(panel.id)
    });

    app.commands.addCommand(FilesCommandIDs.openFolder, {
      label: trans.__('Open Remote Folder'),
      caption: trans.__(
        'Show a folder of a cluster in the "Remote files" panel'
      ),
      describedBy: {
        args: {
          type: 'object',
          properties: {
            cluster: { type: 'string' },
            path: {
              type: 'string',
              description:
                'An absolute path on the cluster, or a drive path (home/run)'
            }
          },
          required: ['cluster']
        }
      },
      execute: async (args: ReadonlyPartialJSONObject) => {
        const cluster = String(args.cluster ?? '');
        const path = String(args.path ?? '');
        app.shell.activateById(panel.id);
        await clusters.ready;
        syncDrives();
        const drive = drives.get(cluster);
        try {
          if (!drive) {
            throw new Error(
              trans.__('There is no cluster named "%1".', cluster)
            );
          }
          let local = splitGlobalPath(path).path;
          if (path.startsWith('/')) {
            const mapped = await drive.drivePathOf(path);
            if (mapped === null) {
              throw new Error(
                trans.__(
                  '"%1" is outside the folders this cluster shows (its roots).',
                  path
                )
              );
            }
            local = mapped;
          }
          await panel.showPath(cluster, local);
        } catch (error) {
          Notification.error(
            trans.__('Cannot open "%1": %2', path, errorText(error)),
            { autoClose: 8000 }
          );
        }
      }
    });

    app.commands.addCommand(FilesCommandIDs.copyRemotePath, {
      label: trans.__('Copy Remote Path'),
      caption: trans.__('Copy the absolute path on the cluster'),
      icon: copyIcon.bindprops({ stylesheet: 'menuItem' }),
      isEnabled: () => selection().length > 0,
      describedBy: NO_ARGS,
      execute: async () => {
        try {
          const paths = await Promise.all(selection().map(realPath));
          Clipboard.copyToSystem(paths.join('\n'));
          Notification.info(trans.__('Copied: %1', paths.join(', ')), {
            autoClose: 3000
          });
        } catch (error) {
          Notification.error(errorText(error), { autoClose: 8000 });
        }
      }
    });

    // Lab's "Delete" is labelled after the server's own trash setting ("Move
    // to Trash"); a cluster has no trash. Its confirmation already says
    // "permanently delete" there (above); the entry says it too.
    app.commands.addCommand(DELETE, {
      label: trans.__('Delete Permanently…'),
      caption: trans.__('Delete from the cluster: it has no trash'),
      describedBy: NO_ARGS,
      isEnabled: () => app.commands.isEnabled('filebrowser:delete'),
      execute: () => app.commands.execute('filebrowser:delete')
    });

    let submitTarget: string | null = null;
    app.commands.addCommand(FilesCommandIDs.submitFile, {
      label: trans.__('Submit as Job'),
      caption: trans.__('Submit this batch script to the cluster'),
      isEnabled: () => permissions.current.execute,
      describedBy: NO_ARGS,
      isVisible: () => {
        // The entry under the pointer (the selection may lag behind it).
        const node = remoteMenuHit('.jp-DirListing-item');
        const name =
          node?.querySelector('.jp-DirListing-itemText')?.textContent?.trim() ??
          null;
        const items = selection();
        const target = name ?? (items.length === 1 ? items[0].name : null);
        submitTarget = target;
        return (
          !!target &&
          node?.getAttribute('data-isdir') !== 'true' &&
          isJobScript(target)
        );
      },
      execute: async () => {
        const browser = panel.browser;
        const name = submitTarget;
        if (!browser || !name) {
          return;
        }
        const item: Contents.IModel =
          selection().find(i => i.name === name) ??
          ({
            name,
            path: `${browser.model.path.replace(/\/$/, '')}/${name}`
          } as Contents.IModel);
        if (!app.commands.hasCommand(FilesCommandIDs.submitJob)) {
          Notification.error(
            trans.__(
              'Submitting jobs needs the "Jobs" panel, which is not installed.'
            ),
            { autoClose: 8000 }
          );
          return;
        }
        try {
          const path = await realPath(item);
          await app.commands.execute(FilesCommandIDs.submitJob, {
            cluster: panel.cluster,
            path
          });
        } catch (error) {
          Notification.error(errorText(error), { autoClose: 8000 });
        }
      }
    });

    // The panel's own context menu replaces Lab's there (Shift+right-click
    // still gives the browser's own menu, as everywhere in Lab).
    const menu = new ContextMenuSvg({ commands: app.commands });
    menu.menu.addClass('jp-rpc-FilesContextMenu');
    for (const entry of MENU) {
      menu.addItem(
        entry.command
          ? {
              command: entry.command,
              selector: entry.selector,
              rank: entry.rank
            }
          : { type: 'separator', selector: entry.selector, rank: entry.rank }
      );
    }
    panel.node.addEventListener('contextmenu', (event: MouseEvent) => {
      if (event.shiftKey) {
        return;
      }
      setRemoteMenuTarget(
        event.target instanceof Element ? event.target : null
      );
      if (!menu.open(event)) {
        return;
      }
      event.preventDefault();
      event.stopPropagation(); // Lab's application menu listens on the document
    });

    palette?.addItem({
      command: FilesCommandIDs.open,
      category: trans.__('Remote Files'),
      args: { isPalette: true }
    });
  }
};

export default [filesPlugin];
