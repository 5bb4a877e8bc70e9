/**
 * `jupyter-rpc:kernels`: while a kernel on a compute node waits for its
 * batch job (docs/kernels.md), a notification says so ("Python 3 on testbed,
 * debug: waiting in queue debug, job 1234") with a Cancel action that
 * cancels the job (the kernel's start then fails with "cancelled"). It asks
 * the server every 2 s, and only when a kernelspec runs in a job. And a
 * notebook on a cluster's drive offers that cluster's kernels first in the
 * kernel picker (picker.ts). A kernel profile's kernel starts after its
 * dialog: the job's values, confirmed or changed (values.tsx).
 */
import type {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  InputDialog,
  Notification,
  SessionContext,
  SessionContextDialogs
} from '@jupyterlab/apputils';
import type { KernelSpec } from '@jupyterlab/services';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { errorText } from '../shared/errors';
import { IClustersManager } from '../clusters/tokens';
import type { IKernelEnvironment } from './api';
import { cancelKernelStart, listKernelStarts } from './api';
import { clusterFirst, clusterOfPath, clusterSpecs } from './picker';
import type { IKernelChanging } from './guard';
import { guardKernelStarts, profileOf } from './guard';
import type { INotifier } from './watcher';
// eslint-disable-next-line jupyter/prefer-lazy-imports -- the watcher is made at activation and asked every 2 s from then on
import { hasJobKernels, KernelStartWatcher } from './watcher';

/** The command that edits your kernel environment on a cluster. */
const KERNEL_ENV = 'jupyter-rpc:kernel-environment';

/** The clusters that have kernels (a login-node kernelspec each). */
function kernelClusters(specs: KernelSpec.ISpecModels | null): string[] {
  const names = new Set<string>();
  for (const spec of Object.values(specs?.kernelspecs ?? {})) {
    const meta = spec?.metadata?.['jupyter_rpc'] as
      { cluster?: unknown; where?: unknown } | undefined;
    if (meta?.where === 'login' && typeof meta.cluster === 'string') {
      names.add(meta.cluster);
    }
  }
  return [...names].sort();
}

/** An environment in words: "python3, conda kenv, modules gcc/12". */
function envText(env: IKernelEnvironment['effective']): string {
  const parts = [env.kernel_python ?? 'python3'];
  if (env.kernel_conda_env) {
    parts.push(`conda ${env.kernel_conda_env}`);
  }
  if (env.kernel_modules?.length) {
    parts.push(`modules ${env.kernel_modules.join(' ')}`);
  }
  return parts.join(', ');
}

/** How often the server is asked while a job kernelspec exists (ms). */
const INTERVAL = 2000;

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-rpc:kernels',
  description:
    'Asks for a compute-node kernel’s job values before it starts, shows it while its job waits, and offers a notebook on a cluster that cluster’s kernels first.',
  autoStart: true,
  optional: [ITranslator, IClustersManager, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    translator: ITranslator | null,
    clusters: IClustersManager | null,
    palette: ICommandPalette | null
  ) => {
    const trans = (translator ?? nullTranslator).load('jupyter_rpc');
    const settings = app.serviceManager.serverSettings;
    const notifier: INotifier = {
      show: (message, onCancel) =>
        Notification.emit(message, 'in-progress', {
          autoClose: false,
          actions: [
            {
              label: trans.__('Cancel'),
              caption: trans.__('Cancel the kernel’s batch job'),
              callback: onCancel
            }
          ]
        }),
      update: (id, message) => {
        Notification.update({ id, message, autoClose: false });
      },
      dismiss: id => Notification.dismiss(id)
    };
    const watcher = new KernelStartWatcher(
      {
        list: () => listKernelStarts(settings),
        cancel: id => cancelKernelStart(id, settings)
      },
      notifier,
      reason =>
        Notification.error(trans.__('Cancel failed: %1', errorText(reason)), {
          autoClose: 8000
        })
    );
    // Lab's picker (Select Kernel, Change Kernel) builds its groups here
    const dialogs = SessionContextDialogs as unknown as {
      kernelOptions: typeof SessionContextDialogs.kernelOptions;
    };
    const kernelOptions = dialogs.kernelOptions;
    dialogs.kernelOptions = (sessionContext, translator) => {
      const options = kernelOptions(sessionContext, translator);
      const cluster = clusterOfPath(sessionContext.path);
      return cluster === null
        ? options
        : clusterFirst(
            options,
            clusterSpecs(sessionContext.specsManager.specs, cluster),
            trans.__('Start Kernel on cluster %1', cluster)
          );
    };
    const specs = app.serviceManager.kernelspecs;
    // your own kernel environment on a cluster (env.ts)
    app.commands.addCommand(KERNEL_ENV, {
      label: trans.__('Kernel Environment on a Cluster…'),
      caption: trans.__(
        'The Python, conda environment and modules your notebook kernels on a cluster start with'
      ),
      describedBy: {
        args: {
          type: 'object',
          properties: {
            cluster: {
              type: 'string',
              description: 'The cluster (asked when not given)'
            }
          }
        }
      },
      isEnabled: () => kernelClusters(specs.specs).length > 0,
      execute: async args => {
        const names = kernelClusters(specs.specs);
        const labelOf = (name: string) =>
          clusters?.get(name)?.display_name || name;
        let cluster = typeof args.cluster === 'string' ? args.cluster : '';
        if (!cluster && names.length === 1) {
          cluster = names[0];
        } else if (!cluster) {
          const picked = await InputDialog.getItem({
            title: trans.__('Kernel environment on which cluster?'),
            items: names.map(labelOf)
          });
          if (!picked.button.accept || picked.value === null) {
            return;
          }
          cluster = names[names.map(labelOf).indexOf(picked.value)] ?? '';
        }
        if (!cluster) {
          return;
        }
        const { editKernelEnv } = await import('./env');
        try {
          const env = await editKernelEnv(
            cluster,
            labelOf(cluster),
            trans,
            settings
          );
          if (env) {
            Notification.success(
              trans.__(
                'Kernels on %1 start with your environment: %2',
                labelOf(cluster),
                envText(env.effective)
              ),
              { autoClose: 5000 }
            );
          }
        } catch (reason) {
          Notification.error(errorText(reason), { autoClose: 8000 });
        }
      }
    });
    palette?.addItem({
      command: KERNEL_ENV,
      category: trans.__('Remote Clusters')
    });
    // a kernel profile's kernel: its job's values confirmed before it starts
    const guarded = guardKernelStarts(
      SessionContext.prototype as unknown as IKernelChanging,
      name => profileOf(specs.specs, name),
      async profile => {
        // the dialog (and rjsf's form) loads when a profile kernel first starts
        const { confirmProfileValues } = await import('./values');
        return confirmProfileValues(
          profile,
          translator ?? nullTranslator,
          settings
        );
      }
    );
    if (!guarded) {
      console.warn(
        'jupyter_rpc: this JupyterLab has no SessionContext._changeKernel; kernel profiles start with their last values, without the dialog.'
      );
    }
    let busy = false;
    window.setInterval(() => {
      if (busy || !hasJobKernels(specs.specs)) {
        return;
      }
      busy = true;
      watcher
        .tick()
        .catch(() => undefined) // the server is away: asked again next time
        .finally(() => {
          busy = false;
        });
    }, INTERVAL);
  }
};

export default [plugin];
