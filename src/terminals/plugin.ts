/**
 * `jupyter-rpc:terminals`: a terminal on a cluster in a main-area tab, with
 * JupyterLab's own Terminal widget (xterm.js, the user's theme and font, copy
 * and paste, links) over a {@link ClusterTerminalConnection}. A Launcher card
 * per cluster, "Open Terminal Here" in the Remote files browser, tabs titled
 * `user@cluster: folder` that come back after a reload (same shell, its
 * screen replayed by the server).
 */
import { ILayoutRestorer } from '@jupyterlab/application';
import type {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  MainAreaWidget,
  Notification,
  showDialog,
  WidgetTracker
} from '@jupyterlab/apputils';
import { ILauncher } from '@jupyterlab/launcher';
import type { ServerConnection } from '@jupyterlab/services';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import type { Terminal } from '@jupyterlab/terminal';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import type { TranslationBundle } from '@jupyterlab/translation';
import { terminalIcon } from '@jupyterlab/ui-components';
import type { IDisposable } from '@lumino/disposable';
import type { Message } from '@lumino/messaging';
import { IClustersManager } from '../clusters/tokens';
import { errorText } from '../shared/errors';
import { NO_ARGS } from '../shared/commands';
import { remoteMenuHit } from '../files/menu';
import { clusterOfDrive, splitGlobalPath } from '../files/paths';
import { openTerminal, getTerminal } from './api';
import { terminalTitle } from './title';

/**
 * The command IDs of the terminals.
 */
export namespace TerminalCommandIDs {
  /** `{cluster, cwd?}`: open a new terminal on a cluster (in a drive folder). */
  export const open = 'jupyter-rpc:open-terminal';
  /** `{cluster, name, cwd?}`: show an open terminal (the restorer uses it). */
  export const attach = 'jupyter-rpc:attach-terminal';
  /** Open a terminal in the folder under the pointer of the Remote files browser. */
  export const openHere = 'jupyter-rpc:open-terminal-here';
}

/**
 * The settings of JupyterLab's own terminals, which ours follow.
 */
const LAB_TERMINAL_SETTINGS = '@jupyterlab/terminal-extension:plugin';

const OPEN_ARGS = {
  args: {
    type: 'object',
    properties: {
      cluster: { type: 'string', description: 'The cluster' },
      cwd: {
        type: 'string',
        description:
          'A folder of the cluster’s files (home/run), or an absolute path on the cluster inside its roots'
      },
      job: {
        type: 'string',
        description: 'A running Slurm job: the shell runs on its node'
      }
    },
    required: ['cluster']
  }
} as const;

const ATTACH_ARGS = {
  args: {
    type: 'object',
    properties: {
      cluster: { type: 'string', description: 'The cluster' },
      name: { type: 'string', description: 'The terminal’s name' },
      cwd: { type: 'string', description: 'The folder it started in' }
    },
    required: ['cluster', 'name']
  }
} as const;

/**
 * A terminal's tab: closing it asks first, then ends the shell.
 */
class TerminalTab extends MainAreaWidget<Terminal> {
  constructor(
    options: MainAreaWidget.IOptions<Terminal> & {
      cluster: string;
      name: string;
      cwd: string;
      trans: TranslationBundle;
    }
  ) {
    super(options);
    this.cluster = options.cluster;
    this.terminalName = options.name;
    this.cwd = options.cwd;
    this._trans = options.trans;
  }

  readonly cluster: string;
  readonly terminalName: string;
  readonly cwd: string;

  protected onCloseRequest(msg: Message): void {
    if (this._confirmed || this.content.session.isDisposed) {
      super.onCloseRequest(msg);
      return;
    }
    const trans = this._trans;
    void showDialog({
      title: trans.__('Close this terminal?'),
      body: trans.__(
        'Its shell on %1 ends, with what runs in it (as when an SSH window closes).',
        this.cluster
      ),
      buttons: [
        Dialog.cancelButton(),
        Dialog.warnButton({ label: trans.__('Close and End') })
      ]
    }).then(result => {
      if (result.button.accept) {
        this._confirmed = true;
        this.close();
      }
    });
  }

  private _confirmed = false;
  private _trans: TranslationBundle;
}

/**
 * The terminals plugin.
 */
export const terminalsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-rpc:terminals',
  description:
    'Opens terminals on clusters (a login shell over the cluster’s SSH connection, or on this computer) in JupyterLab’s Terminal widget: Launcher cards, "Open Terminal Here" in Remote files, reattached after a reload.',
  autoStart: true,
  requires: [IClustersManager],
  optional: [
    ITranslator,
    ILauncher,
    ILayoutRestorer,
    ICommandPalette,
    ISettingRegistry
  ],
  activate: (
    app: JupyterFrontEnd,
    clusters: IClustersManager,
    translator: ITranslator | null,
    launcher: ILauncher | null,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    registry: ISettingRegistry | null
  ): void => {
    const trans = (translator ?? nullTranslator).load('jupyter_rpc');
    const tracker = new WidgetTracker<TerminalTab>({
      namespace: 'jupyter-rpc-terminal'
    });
    const settings = (): ServerConnection.ISettings =>
      clusters.serverSettings ?? app.serviceManager.serverSettings;

    // Lab's own terminal settings (theme, font, scrollback, ...) apply here too.
    let userOptions: Record<string, unknown> = {};
    if (registry) {
      void registry
        .load(LAB_TERMINAL_SETTINGS)
        .then(loaded => {
          const read = (): void => {
            userOptions = { ...loaded.composite };
          };
          read();
          loaded.changed.connect(read);
        })
        .catch(() => undefined); // Lab without its terminal extension: defaults
    }

    const show = async (
      cluster: string,
      name: string,
      cwd: string,
      job = ''
    ): Promise<TerminalTab> => {
      const [{ Terminal }, { ClusterTerminalConnection }] = await Promise.all([
        import('@jupyterlab/terminal'),
        import('./connection')
      ]);
      const session = new ClusterTerminalConnection({
        cluster,
        name,
        serverSettings: settings()
      });
      const content = new Terminal(
        session,
        { ...userOptions, shutdownOnClose: true, closeOnExit: false },
        translator ?? nullTranslator
      );
      const tab = new TerminalTab({ content, cluster, name, cwd, trans });
      tab.id = `jp-rpc-terminal-${cluster}-${name}`;
      const user = clusters.get(cluster)?.user ?? '';
      tab.title.label = terminalTitle(user, cluster, cwd, job);
      tab.title.caption = trans.__('Terminal on %1 (%2)', cluster, cwd || '~');
      tab.title.icon = terminalIcon;
      tab.title.closable = true;
      // Lab's widget names the tab after the session once connected: keep ours.
      const title = tab.title.label;
      content.title.label = title;
      tab.title.changed.connect(() => {
        if (tab.title.label !== title) {
          tab.title.label = title;
        }
      });
      app.shell.add(tab, 'main');
      void tracker.add(tab);
      app.shell.activateById(tab.id);
      return tab;
    };

    app.commands.addCommand(TerminalCommandIDs.open, {
      label: args =>
        args.isLauncher
          ? trans.__('Terminal')
          : trans.__('New Terminal on %1', String(args.cluster ?? '')),
      caption: trans.__('A login shell on the cluster'),
      icon: args => (args.isPalette ? undefined : terminalIcon),
      describedBy: OPEN_ARGS,
      execute: async args => {
        const cluster = String(args.cluster ?? '');
        let cwd = typeof args.cwd === 'string' ? args.cwd : '';
        const job = typeof args.job === 'string' ? args.job : '';
        try {
          if (cwd.startsWith('/')) {
            // An absolute path on the cluster (a job's folder): its drive path.
            const absolute = cwd;
            const { drivePathOf } = await import('./paths');
            const mapped = await clusters.withConnection(cluster, () =>
              drivePathOf(cluster, absolute, settings())
            );
            if (mapped === null) {
              throw new Error(
                trans.__(
                  '"%1" is outside the folders this cluster shows (its roots).',
                  absolute
                )
              );
            }
            cwd = mapped;
          }
          const model = await clusters.withConnection(cluster, () =>
            openTerminal(
              cluster,
              { ...(cwd ? { cwd } : {}), ...(job ? { job } : {}) },
              settings()
            )
          );
          return await show(cluster, model.name, model.cwd, model.job);
        } catch (error) {
          Notification.error(
            trans.__('No terminal on %1: %2', cluster, errorText(error)),
            { autoClose: false }
          );
          return undefined;
        }
      }
    });

    app.commands.addCommand(TerminalCommandIDs.attach, {
      label: trans.__('Show Terminal'),
      describedBy: ATTACH_ARGS,
      execute: async args => {
        const cluster = String(args.cluster ?? '');
        const name = String(args.name ?? '');
        const open = tracker.find(
          w => w.cluster === cluster && w.terminalName === name
        );
        if (open) {
          app.shell.activateById(open.id);
          return open;
        }
        // Only a terminal the server still has (a server restart ended them).
        const model = await getTerminal(cluster, name, settings());
        return show(cluster, name, model.cwd, model.job);
      }
    });

    app.commands.addCommand(TerminalCommandIDs.openHere, {
      label: trans.__('Open Terminal Here'),
      caption: trans.__('A login shell on the cluster, in this folder'),
      icon: terminalIcon,
      describedBy: NO_ARGS,
      isVisible: () => folderUnderPointer(app) !== null,
      execute: () => {
        const here = folderUnderPointer(app);
        if (here) {
          return app.commands.execute(TerminalCommandIDs.open, here);
        }
      }
    });
    // "Open Terminal Here" is in the Remote files panel's own menu (files/plugin.ts).

    if (restorer) {
      void restorer.restore(tracker, {
        command: TerminalCommandIDs.attach,
        args: w => ({
          cluster: w.cluster,
          name: w.terminalName,
          cwd: w.cwd
        }),
        name: w => `${w.cluster}/${w.terminalName}`
      });
    }

    // A Launcher card per cluster (a section each), following the list.
    const cards = new Map<string, IDisposable>();
    const paletteItems = new Map<string, IDisposable>();
    const update = (): void => {
      const names = new Set(clusters.clusters.map(c => c.name));
      for (const [name, card] of cards) {
        if (!names.has(name)) {
          card.dispose();
          cards.delete(name);
          paletteItems.get(name)?.dispose();
          paletteItems.delete(name);
        }
      }
      clusters.clusters.forEach((c, rank) => {
        if (cards.has(c.name)) {
          return;
        }
        const args = { cluster: c.name };
        cards.set(
          c.name,
          launcher?.add({
            command: TerminalCommandIDs.open,
            args: { ...args, isLauncher: true },
            category: c.display_name || c.name,
            rank
          }) ?? { dispose: () => undefined, isDisposed: false }
        );
        if (palette) {
          paletteItems.set(
            c.name,
            palette.addItem({
              command: TerminalCommandIDs.open,
              args: { ...args, isPalette: true },
              category: trans.__('Remote Terminals')
            })
          );
        }
      });
    };
    clusters.changed.connect(update);
    void clusters.ready.then(update);
  }
};

/**
 * The Remote files browser's folder under the pointer (or the folder it
 * shows, when the pointer is on the listing's background): `{cluster, cwd}`.
 */
function folderUnderPointer(
  app: JupyterFrontEnd
): { cluster: string; cwd: string } | null {
  const panel = document.querySelector('.jp-rpc-FilesPanel');
  const listing = panel?.querySelector('.jp-DirListing');
  if (!panel || !listing) {
    return null;
  }
  const browser = Array.from(app.shell.widgets('left')).find(
    w => w.node === panel
  ) as { browser?: { model: { path: string; driveName: string } } } | undefined;
  const model = browser?.browser?.model;
  if (!model) {
    return null;
  }
  const cluster = clusterOfDrive(model.driveName);
  if (!cluster) {
    return null;
  }
  const here = splitGlobalPath(model.path).path;
  // the panel's own context menu (it replaces the application's there)
  const item = remoteMenuHit('.jp-DirListing-item');
  if (item && !panel.contains(item)) {
    return null;
  }
  if (item && item.getAttribute('data-isdir') !== 'true') {
    return null;
  }
  const name = item
    ?.querySelector('.jp-DirListing-itemText')
    ?.textContent?.trim();
  const cwd = name ? (here ? `${here}/${name}` : name) : here;
  return cwd ? { cluster, cwd } : null;
}

export default [terminalsPlugin];
