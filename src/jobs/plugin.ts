import { ILayoutRestorer, LabShell } from '@jupyterlab/application';
import type {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  Notification,
  WidgetTracker
} from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { IFileBrowserFactory } from '@jupyterlab/filebrowser';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import type { TranslationBundle } from '@jupyterlab/translation';
import { errorText } from '../shared/errors';
import { IClustersManager } from '../clusters/tokens';
// eslint-disable-next-line jupyter/prefer-lazy-imports -- the panel lists each cluster's open terminals from activation
import { ClusterTerminalsRegistry } from '../clusters/terminals';
import { PANEL_ARGS } from '../shared/commands';
// eslint-disable-next-line jupyter/prefer-lazy-imports -- what the user may do is asked once at activation, so commands are disabled before they are used
import { permissions } from '../shared/permissions';
import { SUBMIT_JOB } from './JobsView';
import { OPEN_JOBS_TAB } from './commands';
// eslint-disable-next-line jupyter/prefer-lazy-imports -- a restored Jobs tab is created while the layout is restored, at activation
import { JobsMainPanel } from './JobsMainView';
import { resubmitForm } from './api';
import { endNotices } from './ends';
import type { IEndNotice } from './ends';
// eslint-disable-next-line jupyter/prefer-lazy-imports -- the registry is created at activation: it follows the jobs to notify when they end
import { JobsRegistry } from './manager';
// eslint-disable-next-line jupyter/prefer-lazy-imports -- the side panel is created and added to the shell (and restorer) at activation
import { jobsIcon, JobsPanel } from './panel';
import { jobStateLabel } from './StateBadge';
import { jobTerminalEntries, OPEN_TERMINAL } from './terminal';
import type { IJobTerminalEntry } from './terminal';

/**
 * The command IDs of the jobs plugin.
 */
export namespace JobsCommandIDs {
  /** Show the "Jobs" panel. */
  export const open = 'jupyter-rpc:open-jobs';
  /** The Jobs view in the main area: args `{cluster?, job?}`. */
  export const openTab = OPEN_JOBS_TAB;
  /** The submit dialog: args `{cluster?, path?}` (path: a script on the cluster). */
  export const submit = SUBMIT_JOB;
  /** Submit the batch script selected in a file browser (read as text). */
  export const submitFile = 'jupyter-rpc:submit-script-file';
  /** Show a job's detail: args `{cluster, job}`. */
  export const show = 'jupyter-rpc:show-job';
  /** A terminal in a job's folder: `{cluster, job}` (default: the row under the pointer). */
  export const terminalInFolder = 'jupyter-rpc:job-terminal-in-folder';
  /** A shell on a running Slurm job's node: `{cluster, job}` (or the row under the pointer). */
  export const shellOnNode = 'jupyter-rpc:job-shell-on-node';
}

/**
 * The arguments of the jobs' terminal commands.
 */
const JOB_ARGS = {
  args: {
    type: 'object',
    properties: {
      cluster: { type: 'string', description: 'The cluster the job runs on' },
      job: { type: 'string', description: 'The job ID' }
    }
  }
} as const;

/**
 * The file type of batch scripts (`.sh`, `.sbatch`, `.slurm`), so file
 * browsers can offer "Submit as job" on them.
 */
export const BATCH_SCRIPT_FILE_TYPE = 'jupyter-rpc-batch-script';

/**
 * The text of a notice about ended jobs.
 */
export function noticeText(
  notice: IEndNotice,
  clusterLabel: string,
  trans: TranslationBundle
): string {
  if (notice.arrayId) {
    const states = new Map<string, number>();
    for (const j of notice.jobs) {
      const label = jobStateLabel(j.state, trans);
      states.set(label, (states.get(label) ?? 0) + 1);
    }
    const summary = [...states].map(([s, n]) => `${n} ${s}`).join(', ');
    return trans.__(
      'Array job %1 (%2) on %3: %4.',
      notice.arrayId,
      notice.job.name,
      clusterLabel,
      summary
    );
  }
  const job = notice.job;
  const state = jobStateLabel(job.state, trans);
  if (job.state === 'failed' && job.exit_code !== null) {
    return trans.__(
      'Job %1 (%2) on %3 failed with exit code %4.',
      job.id,
      job.name,
      clusterLabel,
      job.exit_code
    );
  }
  return trans.__(
    'Job %1 (%2) on %3: %4.',
    job.id,
    job.name,
    clusterLabel,
    state
  );
}

/**
 * The "Jobs" side panel, the submit dialog and job notifications.
 */
export const jobsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-rpc:jobs',
  description:
    'Adds the "Jobs" side panel: the jobs of a cluster, their detail and live output, submitting, cancelling, holding and resubmitting jobs, and a notification when a job ends.',
  autoStart: true,
  requires: [IClustersManager],
  optional: [
    ITranslator,
    ICommandPalette,
    ISettingRegistry,
    ILayoutRestorer,
    IFileBrowserFactory
  ],
  activate: (
    app: JupyterFrontEnd,
    clusters: IClustersManager,
    translator: ITranslator | null,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null,
    restorer: ILayoutRestorer | null,
    browsers: IFileBrowserFactory | null
  ): void => {
    translator = translator ?? nullTranslator;
    const trans = translator.load('jupyter_rpc');
    const registry = new JobsRegistry(clusters);
    const terminals = new ClusterTerminalsRegistry(
      () => clusters.serverSettings ?? app.serviceManager.serverSettings
    );
    const panel = new JobsPanel({
      clusters,
      registry,
      commands: app.commands,
      trans,
      terminals
    });
    app.shell.add(panel, 'right', { rank: 900, type: 'Jobs' });
    restorer?.add(panel, 'jupyter-rpc-jobs');
    let notify = true;

    const showJob = (cluster: string, job: string, arrayId = ''): void => {
      panel.model.show(cluster, job, arrayId);
      app.shell.activateById(panel.id);
    };

    registry.ended.connect((_, { cluster, ends }) => {
      if (!notify) {
        return;
      }
      const model = clusters.get(cluster);
      const label = model?.display_name || cluster;
      for (const notice of endNotices(ends)) {
        const message = noticeText(notice, label, trans);
        const options = {
          autoClose: notice.kind === 'error' ? (false as const) : 10000,
          actions: [
            {
              label: trans.__('Show'),
              caption: trans.__('Show the job in the Jobs panel'),
              callback: () =>
                showJob(cluster, notice.job.id, notice.job.array_job_id)
            }
          ]
        };
        if (notice.kind === 'success') {
          Notification.success(message, options);
        } else if (notice.kind === 'error') {
          Notification.error(message, options);
        } else {
          Notification.info(message, options);
        }
      }
    });

    const submit = async (
      cluster: string | undefined,
      preset: Record<string, unknown>
    ): Promise<string | null> => {
      const { submitJobFlow } = await import('./submit');
      const result = await submitJobFlow({
        registry,
        clusters,
        translator: translator ?? nullTranslator,
        cluster,
        preset
      });
      if (!result) {
        return null;
      }
      showJob(result.cluster, result.job.id);
      Notification.success(trans.__('Submitted job %1.', result.job.id), {
        autoClose: 4000
      });
      return result.job.id;
    };

    app.commands.addCommand(JobsCommandIDs.open, {
      label: args =>
        args.isPalette ? trans.__('Open Jobs') : trans.__('Jobs'),
      caption: trans.__('Show the jobs of your clusters'),
      icon: args => (args.isPalette ? undefined : jobsIcon),
      describedBy: PANEL_ARGS,
      execute: () => app.shell.activateById(panel.id)
    });
    // The main-area view: one tab, brought back after a reload with its cluster.
    const tabs = new WidgetTracker<JobsMainPanel>({
      namespace: 'jupyter-rpc-jobs-main'
    });
    app.commands.addCommand(JobsCommandIDs.openTab, {
      label: args =>
        args.isPalette
          ? trans.__('Open Jobs in a Tab')
          : trans.__('Jobs in a Tab'),
      caption: trans.__(
        'The jobs of a cluster in the main area: queue, history and detail side by side'
      ),
      icon: args => (args.isPalette ? undefined : jobsIcon),
      describedBy: {
        args: {
          type: 'object',
          properties: {
            cluster: { type: 'string', description: 'The cluster to show' },
            job: { type: 'string', description: 'A job to select' },
            activate: {
              type: 'boolean',
              description: 'Show the tab (default true)'
            },
            fromPanel: {
              type: 'boolean',
              description:
                'Opened from the Jobs side panel: it is collapsed, the tab has the room'
            },
            isPalette: { type: 'boolean' }
          }
        }
      },
      execute: async args => {
        const cluster = typeof args.cluster === 'string' ? args.cluster : '';
        const job = typeof args.job === 'string' ? args.job : '';
        let tab = tabs.currentWidget ?? tabs.find(() => true);
        if (!tab || tab.isDisposed) {
          tab = new JobsMainPanel({
            clusters,
            registry,
            commands: app.commands,
            trans
          });
          const model = tab.content.model;
          let saved = '';
          const created = tab;
          // The tracker keeps the cluster for the next reload.
          model.changed.connect(() => {
            if (model.cluster !== saved) {
              saved = model.cluster;
              void tabs.save(created);
            }
          });
          app.shell.add(tab, 'main', { activate: args.activate !== false });
          await tabs.add(tab);
        } else if (args.activate !== false) {
          app.shell.activateById(tab.id);
        }
        if (cluster) {
          tab.content.model.show(cluster, job);
        }
        if (args.fromPanel === true && app.shell instanceof LabShell) {
          app.shell.collapseRight();
        }
        return tab;
      }
    });
    void restorer?.restore(tabs, {
      command: JobsCommandIDs.openTab,
      args: tab => ({ cluster: tab.content.model.cluster, activate: false }),
      name: () => 'jobs'
    });

    // Submitting runs code: 'execute' (the server refuses it without).
    permissions.changed.connect(() => app.commands.notifyCommandChanged());
    void permissions.load();
    app.commands.addCommand(JobsCommandIDs.submit, {
      label: trans.__('Submit Job…'),
      caption: trans.__('Submit a batch job to a cluster'),
      isEnabled: () => permissions.current.execute,
      describedBy: {
        args: {
          type: 'object',
          properties: {
            cluster: {
              type: 'string',
              description: 'The cluster selected in the dialog'
            },
            path: {
              type: 'string',
              description:
                'An absolute path on the cluster of the batch script to submit'
            },
            job: {
              type: 'string',
              description:
                'A job of the cluster whose script and resources fill the dialog (Resubmit)'
            }
          }
        }
      },
      execute: async args => {
        const cluster =
          typeof args.cluster === 'string' ? args.cluster : undefined;
        const path = typeof args.path === 'string' ? args.path : '';
        const job = typeof args.job === 'string' ? args.job : '';
        let preset: Record<string, unknown> = {};
        if (job && cluster) {
          // Resubmit: the old job's values, shown for editing; nothing is submitted
          // before the user presses Submit (on a cluster it spends allocation).
          try {
            preset = { ...(await resubmitForm(cluster, job)) };
          } catch (reason) {
            Notification.error(
              trans.__('Cannot resubmit job %1: %2', job, errorText(reason)),
              { autoClose: 8000 }
            );
            return null;
          }
        } else if (path) {
          preset.script_path = path;
          preset.name = PathExt.basename(path);
        }
        return submit(cluster, preset);
      }
    });
    app.commands.addCommand(JobsCommandIDs.submitFile, {
      label: trans.__('Submit as Job…'),
      caption: trans.__('Submit this batch script to a cluster'),
      isEnabled: () => permissions.current.execute,
      icon: jobsIcon,
      describedBy: {
        args: {
          type: 'object',
          properties: {
            path: {
              type: 'string',
              description:
                'The contents path of the script to submit (default: the item selected in the current file browser)'
            }
          }
        }
      },
      execute: async args => {
        let path = typeof args.path === 'string' ? args.path : '';
        if (!path) {
          const item = browsers?.tracker.currentWidget?.selectedItems().next();
          path = item && !item.done ? item.value.path : '';
        }
        if (!path) {
          return null;
        }
        let script: string;
        try {
          const model = await app.serviceManager.contents.get(path, {
            content: true,
            format: 'text',
            type: 'file'
          });
          script = `${model.content ?? ''}`;
        } catch (reason) {
          Notification.error(
            trans.__('Cannot read %1: %2', path, errorText(reason))
          );
          return null;
        }
        return submit(undefined, {
          script,
          name: PathExt.basename(path)
        });
      }
    });
    app.commands.addCommand(JobsCommandIDs.show, {
      label: trans.__('Show Job'),
      describedBy: {
        args: {
          type: 'object',
          properties: {
            cluster: {
              type: 'string',
              description: 'The cluster the job runs on'
            },
            job: { type: 'string', description: 'The job ID' }
          },
          required: ['cluster', 'job']
        }
      },
      execute: args => {
        const cluster = `${args.cluster ?? ''}`;
        const job = `${args.job ?? ''}`;
        if (cluster && job) {
          showJob(cluster, job);
        }
      }
    });

    // The terminal entries of the job in a row's context menu (the detail has
    // them as buttons): the job from the arguments, or the row under the pointer.
    const terminalEntry = (
      args: Record<string, unknown>,
      kind: IJobTerminalEntry['kind']
    ): IJobTerminalEntry | undefined => {
      let cluster = typeof args.cluster === 'string' ? args.cluster : '';
      let id = typeof args.job === 'string' ? args.job : '';
      if (!cluster || !id) {
        const row = app.contextMenuHitTest(node =>
          node.classList.contains('jp-rpc-JobsTable-row')
        );
        cluster = panel.model.cluster;
        id = row?.dataset.jobId ?? '';
      }
      const job = cluster && id ? registry.get(cluster).job(id) : undefined;
      if (!job || !app.commands.hasCommand(OPEN_TERMINAL)) {
        return undefined;
      }
      return jobTerminalEntries(cluster, clusters.get(cluster), job).find(
        e => e.kind === kind
      );
    };
    for (const [id, kind, label, caption] of [
      [
        JobsCommandIDs.terminalInFolder,
        'folder',
        trans.__('Terminal in the Job’s Folder'),
        trans.__('A terminal on the cluster in the job’s working folder')
      ],
      [
        JobsCommandIDs.shellOnNode,
        'node',
        trans.__('Shell on the Job’s Node'),
        trans.__('A shell inside the running job, on its node')
      ]
    ] as const) {
      app.commands.addCommand(id, {
        label,
        caption,
        describedBy: JOB_ARGS,
        isVisible: args => terminalEntry(args, kind) !== undefined,
        isEnabled: () => permissions.current.execute,
        execute: args => {
          const entry = terminalEntry(args, kind);
          if (entry) {
            return app.commands.execute(OPEN_TERMINAL, entry.args);
          }
        }
      });
      app.contextMenu.addItem({
        command: id,
        selector: '.jp-rpc-JobsTable-row[data-job-id]',
        rank: kind === 'folder' ? 1 : 2
      });
    }

    app.docRegistry.addFileType({
      name: BATCH_SCRIPT_FILE_TYPE,
      displayName: trans.__('Batch script'),
      extensions: ['.sh', '.sbatch', '.slurm'],
      mimeTypes: ['text/x-sh'],
      contentType: 'file',
      fileFormat: 'text',
      icon: jobsIcon
    });

    palette?.addItem({
      command: JobsCommandIDs.open,
      category: trans.__('Jobs'),
      args: { isPalette: true }
    });
    palette?.addItem({
      command: JobsCommandIDs.openTab,
      category: trans.__('Jobs'),
      args: { isPalette: true }
    });
    palette?.addItem({
      command: JobsCommandIDs.submit,
      category: trans.__('Jobs')
    });

    if (settingRegistry) {
      const apply = (settings: ISettingRegistry.ISettings): void => {
        const interval = settings.get('refreshInterval').composite;
        registry.interval =
          (typeof interval === 'number' && interval > 0 ? interval : 15) * 1000;
        notify = settings.get('notifyOnEnd').composite !== false;
      };
      settingRegistry
        .load(jobsPlugin.id)
        .then(settings => {
          apply(settings);
          settings.changed.connect(apply);
        })
        .catch(reason =>
          console.error('jupyter-rpc: cannot load the jobs settings', reason)
        );
    }
  }
};

export default [jobsPlugin];
