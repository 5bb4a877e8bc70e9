import type {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import type { TranslationBundle } from '@jupyterlab/translation';
import { errorText } from '../shared/errors';
import { NO_ARGS } from '../shared/commands';
// eslint-disable-next-line jupyter/prefer-lazy-imports -- what the user may do is asked once at activation, so commands are disabled before they are used
import { permissions } from '../shared/permissions';
// eslint-disable-next-line jupyter/prefer-lazy-imports -- the manager gets its ConnectionDialogs (host keys, passwords) when it is created at activation
import {
  clusterConfigOf,
  confirmRemoveCluster,
  ConnectionDialogs,
  showAddClusterDialog,
  validateCluster
} from './dialogs';
import type { IAddClusterValues } from './dialogs';
// eslint-disable-next-line jupyter/prefer-lazy-imports -- clustersPlugin provides the manager from activate() and lists the clusters at once
import { ClustersManager } from './manager';
import { IClustersManager } from './tokens';

/**
 * The command IDs of the clusters plugin.
 */
export namespace ClusterCommandIDs {
  /** Add a user cluster through a form. */
  export const add = 'jupyter-rpc:add-cluster';
  /** Remove a user cluster: args `{cluster}`. */
  export const remove = 'jupyter-rpc:remove-cluster';
  /** Open a cluster's connection now: args `{cluster}`. */
  export const connect = 'jupyter-rpc:connect-cluster';
}

/**
 * Ask for a new cluster until the server accepts it or the user cancels.
 */
async function addClusterFlow(
  manager: IClustersManager,
  trans: TranslationBundle
): Promise<string | null> {
  let values: IAddClusterValues | undefined;
  let problems: string[] = [];
  for (;;) {
    const answer = await showAddClusterDialog(trans, values, problems);
    if (!answer) {
      return null;
    }
    values = answer;
    problems = validateCluster(answer, trans);
    if (problems.length) {
      continue;
    }
    try {
      const model = await manager.add(
        answer.name.trim(),
        clusterConfigOf(answer)
      );
      Notification.success(
        trans.__('Cluster "%1" added.', model.display_name || model.name),
        { autoClose: 4000 }
      );
      return model.name;
    } catch (reason) {
      problems = [errorText(reason)];
    }
  }
}

/**
 * The clusters manager and the add / remove / connect commands.
 */
export const clustersPlugin: JupyterFrontEndPlugin<IClustersManager> = {
  id: 'jupyter-rpc:clusters',
  description:
    'Provides the clusters (SSH hosts with a scheduler, or this computer) configured on the server, asks to trust host keys and for passwords, and adds or removes user clusters.',
  autoStart: true,
  provides: IClustersManager,
  optional: [ITranslator, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    translator: ITranslator | null,
    palette: ICommandPalette | null
  ): IClustersManager => {
    const trans = (translator ?? nullTranslator).load('jupyter_rpc');
    const manager = new ClustersManager({
      serverSettings: app.serviceManager.serverSettings,
      dialogs: new ConnectionDialogs(trans)
    });
    void manager.refresh();
    // Adding, removing and connecting clusters need 'write'.
    permissions.changed.connect(() => app.commands.notifyCommandChanged());
    void permissions.load();

    app.commands.addCommand(ClusterCommandIDs.add, {
      label: trans.__('Add Cluster…'),
      caption: trans.__('Add an SSH cluster of your own'),
      describedBy: NO_ARGS,
      isEnabled: () => permissions.current.write,
      execute: () => addClusterFlow(manager, trans)
    });
    app.commands.addCommand(ClusterCommandIDs.remove, {
      label: trans.__('Remove Cluster'),
      caption: trans.__('Remove a cluster you added'),
      describedBy: {
        args: {
          type: 'object',
          properties: {
            cluster: {
              type: 'string',
              description: 'The name of a cluster the user added'
            }
          },
          required: ['cluster']
        }
      },
      isEnabled: args => {
        const cluster = manager.get(`${args.cluster ?? ''}`);
        return (
          !!cluster && cluster.source === 'user' && permissions.current.write
        );
      },
      execute: async args => {
        const cluster = manager.get(`${args.cluster ?? ''}`);
        if (!cluster) {
          return false;
        }
        const label = cluster.display_name || cluster.name;
        if (!(await confirmRemoveCluster(trans, label))) {
          return false;
        }
        try {
          await manager.remove(cluster.name);
          return true;
        } catch (reason) {
          Notification.error(
            trans.__('Cannot remove "%1": %2', label, errorText(reason))
          );
          return false;
        }
      }
    });
    app.commands.addCommand(ClusterCommandIDs.connect, {
      label: trans.__('Connect to Cluster'),
      caption: trans.__('Open the connection to a cluster now'),
      describedBy: {
        args: {
          type: 'object',
          properties: {
            cluster: {
              type: 'string',
              description: 'The name of the cluster to connect to'
            }
          },
          required: ['cluster']
        }
      },
      isEnabled: () => permissions.current.write,
      execute: async args => {
        const name = `${args.cluster ?? ''}`;
        try {
          return await manager.connect(name);
        } catch (reason) {
          Notification.error(
            trans.__('Cannot connect to "%1": %2', name, errorText(reason))
          );
          return null;
        }
      }
    });
    palette?.addItem({
      command: ClusterCommandIDs.add,
      category: trans.__('Clusters')
    });
    return manager;
  }
};

export default [clustersPlugin];
