/**
 * `jupyter-rpc:workflows`: a site's catalog of workflow templates
 * (docs/workflows-ui.md). A Launcher section per cluster lists its templates;
 * a card opens the run form; the Workflows tab (`jupyter-rpc:open-workflows`)
 * shows the catalog and the runs and follows a run that has not ended.
 * "Save as Workflow Template…" in the Jobs panel's row menu makes a template
 * of a job's script and resources.
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
  ReactWidget,
  showDialog,
  ToolbarButton,
  WidgetTracker
} from '@jupyterlab/apputils';
import type { DocumentWidget } from '@jupyterlab/docregistry';
import { IFileBrowserFactory } from '@jupyterlab/filebrowser';
import { ILauncher } from '@jupyterlab/launcher';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import type { ServerConnection } from '@jupyterlab/services';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import type { TranslationBundle } from '@jupyterlab/translation';
import { LabIcon } from '@jupyterlab/ui-components';
import type { IDisposable } from '@lumino/disposable';
import React, { useState } from 'react';
import { IClustersManager } from '../clusters/tokens';
import type { IRemotePathContext } from '../functions/RemotePathWidget';
import { getJob } from '../jobs/api';
import { PANEL_ARGS } from '../shared/commands';
import { errorText } from '../shared/errors';
// eslint-disable-next-line jupyter/prefer-lazy-imports -- what the user may do is asked once at activation, so commands are disabled before they are used
import { permissions } from '../shared/permissions';
import type { IWorkflowInfo } from './api';
import { listWorkflows, removeWorkflow, saveJobAsTemplate } from './api';
// eslint-disable-next-line jupyter/prefer-lazy-imports -- a restored Workflows tab is created while the layout is restored, at activation
import { WorkflowsView } from './view';
import type { IWorkflowsActions } from './view';

/**
 * The command IDs of the workflows.
 */
export namespace WorkflowCommandIDs {
  /** The Workflows tab: `{cluster?, run?, activate?}`. */
  export const open = 'jupyter-rpc:open-workflows';
  /** The run form of a template: `{cluster, workflow}`. */
  export const run = 'jupyter-rpc:run-workflow';
  /** A job as a template of the user's own: `{cluster, job}` (or the row under the pointer). */
  export const saveJob = 'jupyter-rpc:save-job-as-template';
  /** Run a notebook as a cluster job: `{path?}` (default: the selected or current one). */
  export const runNotebook = 'jupyter-rpc:run-notebook-on-cluster';
}

/**
 * Three steps joined by arrows, themed through `jp-icon3`.
 */
const WORKFLOWS_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="none" stroke="#616161" stroke-width="1.9" stroke-linecap="round" stroke-linejoin="round">
    <rect x="2" y="3" width="7" height="5" rx="1" />
    <rect x="15" y="9.5" width="7" height="5" rx="1" />
    <rect x="2" y="16" width="7" height="5" rx="1" />
    <path d="M9 5.5h3v6.5h3M12 12v6.5H9" />
  </g>
</svg>`;

/**
 * The icon of the Workflows tab and of the Launcher's templates.
 */
export const workflowsIcon = new LabIcon({
  name: 'jupyter-rpc:workflows',
  svgstr: WORKFLOWS_SVG
});

/**
 * The workflows plugin.
 */
export const workflowsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-rpc:workflows',
  description:
    'Workflows: a Launcher section per cluster with its catalog of templates, their run form, the Workflows tab with the runs (steps, outputs, inputs, Run again, Cancel), and Save as template from a job.',
  autoStart: true,
  requires: [IClustersManager],
  optional: [
    ITranslator,
    ILauncher,
    ILayoutRestorer,
    ICommandPalette,
    IFileBrowserFactory,
    IRenderMimeRegistry
  ],
  activate: (
    app: JupyterFrontEnd,
    clusters: IClustersManager,
    translator: ITranslator | null,
    launcher: ILauncher | null,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    factory: IFileBrowserFactory | null,
    rendermime: IRenderMimeRegistry | null
  ): void => {
    const tr = translator ?? nullTranslator;
    const trans = tr.load('jupyter_rpc');
    const settings = (): ServerConnection.ISettings =>
      clusters.serverSettings ?? app.serviceManager.serverSettings;
    const remotePaths: IRemotePathContext | null = factory
      ? { clusters, factory, translator: tr }
      : null;
    permissions.changed.connect(() => app.commands.notifyCommandChanged());
    void permissions.load();
    /** The templates by `cluster/name`, as the Launcher shows them. */
    const templates = new Map<string, IWorkflowInfo>();
    const tracker = new WidgetTracker<MainAreaWidget<WorkflowsView>>({
      namespace: 'jupyter-rpc-workflows'
    });

    const actions: IWorkflowsActions = {
      submitted: run =>
        Notification.success(
          trans.__('Submitted %1: run %2.', run.display_name, run.id),
          { autoClose: 4000 }
        ),
      open: async (run, output) => {
        const { globalPath } = await import('./model');
        if (output.drive_path) {
          await app.commands.execute('docmanager:open', {
            path: globalPath(run.cluster, output.drive_path)
          });
        }
      },
      download: async (run, output) => {
        if (!output.drive_path) {
          return;
        }
        const { globalPath } = await import('./model');
        try {
          const url = await app.serviceManager.contents.getDownloadUrl(
            globalPath(run.cluster, output.drive_path)
          );
          const link = document.createElement('a');
          link.href = url;
          link.download = output.path.split('/').pop() ?? '';
          link.style.display = 'none';
          document.body.appendChild(link);
          link.click();
          link.remove();
        } catch (reason) {
          Notification.error(
            trans.__('Cannot download %1: %2', output.path, errorText(reason)),
            { autoClose: 8000 }
          );
        }
      },
      openFolder: async run => {
        await app.commands.execute('jupyter-rpc:open-remote-folder', {
          cluster: run.cluster,
          path: run.folder
        });
      },
      remove: async (cluster, info) => {
        const answer = await showDialog({
          title: trans.__('Remove %1?', info.display_name || info.name),
          body: trans.__(
            'The template of yours goes; its runs and their folders stay.'
          ),
          buttons: [
            Dialog.cancelButton(),
            Dialog.warnButton({ label: trans.__('Remove') })
          ]
        });
        if (!answer.button.accept) {
          return false;
        }
        try {
          await removeWorkflow(cluster, info.name, settings());
          void syncLauncher();
          return true;
        } catch (reason) {
          Notification.error(errorText(reason), { autoClose: 8000 });
          return false;
        }
      }
    };

    const openView = async (
      cluster: string,
      run: string,
      activate: boolean
    ): Promise<MainAreaWidget<WorkflowsView>> => {
      let tab = tracker.find(() => true);
      if (!tab || tab.isDisposed) {
        const content = new WorkflowsView({
          clusters,
          settings,
          actions,
          form: {
            clusters,
            translator: tr,
            settings,
            remotePaths,
            rendermime: rendermime ?? undefined
          },
          trans,
          icon: workflowsIcon
        });
        tab = new MainAreaWidget({ content });
        tab.id = 'jp-rpc-workflows';
        tab.title.label = trans.__('Workflows');
        tab.title.icon = workflowsIcon;
        tab.title.closable = true;
        const created = tab;
        let saved = '';
        content.model.changed.connect(() => {
          if (content.model.cluster !== saved) {
            saved = content.model.cluster;
            void tracker.save(created);
          }
        });
        app.shell.add(tab, 'main', { activate });
        await tracker.add(tab);
      } else if (activate) {
        app.shell.activateById(tab.id);
      }
      await clusters.ready;
      const first =
        clusters.clusters.find(c => c.scheduler !== 'none')?.name ?? '';
      await tab.content.showRun(
        cluster || tab.content.model.cluster || first,
        run
      );
      return tab;
    };

    app.commands.addCommand(WorkflowCommandIDs.open, {
      label: args =>
        args.isPalette ? trans.__('Open Workflows') : trans.__('Workflows'),
      caption: trans.__(
        'The workflows your site offers on a cluster, and their runs'
      ),
      icon: args => (args.isPalette ? undefined : workflowsIcon),
      describedBy: {
        args: {
          type: 'object',
          properties: {
            ...PANEL_ARGS.args.properties,
            cluster: { type: 'string', description: 'The cluster to show' },
            run: { type: 'string', description: 'A run of it to show' },
            activate: {
              type: 'boolean',
              description: 'Show the tab (default true)'
            }
          }
        }
      },
      execute: args =>
        openView(
          typeof args.cluster === 'string' ? args.cluster : '',
          typeof args.run === 'string' ? args.run : '',
          args.activate !== false
        )
    });

    app.commands.addCommand(WorkflowCommandIDs.run, {
      label: args => {
        const info = templates.get(`${args.cluster}/${args.workflow}`);
        return info
          ? info.display_name || info.name
          : trans.__('Run a Workflow…');
      },
      caption: args =>
        templates.get(`${args.cluster}/${args.workflow}`)?.description ?? '',
      icon: args => (args.isPalette ? undefined : workflowsIcon),
      isEnabled: () => permissions.current.execute,
      describedBy: {
        args: {
          type: 'object',
          properties: {
            cluster: { type: 'string', description: 'The cluster' },
            workflow: { type: 'string', description: 'The template' }
          },
          required: ['cluster', 'workflow']
        }
      },
      execute: async args => {
        const cluster = String(args.cluster ?? '');
        const workflow = String(args.workflow ?? '');
        if (!cluster || !workflow) {
          return null;
        }
        const tab = await openView(cluster, '', true);
        await tab.content.model.openForm({ cluster, workflow });
        return tab;
      }
    });

    // Save as template: from the Jobs panel's row menu (the row says its
    // cluster and job) or with arguments.
    const rowJob = (
      args: Record<string, unknown>
    ): { cluster: string; job: string } | null => {
      if (typeof args.cluster === 'string' && typeof args.job === 'string') {
        return { cluster: args.cluster, job: args.job };
      }
      const row = app.contextMenuHitTest(node =>
        node.classList.contains('jp-rpc-JobsTable-row')
      );
      const cluster = row?.dataset.cluster ?? '';
      const job = row?.dataset.jobId ?? '';
      return cluster && job ? { cluster, job } : null;
    };
    app.commands.addCommand(WorkflowCommandIDs.saveJob, {
      label: trans.__('Save as Workflow Template…'),
      caption: trans.__(
        'A template of your own from this job’s script and resources'
      ),
      icon: workflowsIcon,
      isEnabled: () => permissions.current.write,
      isVisible: args => rowJob(args) !== null,
      describedBy: {
        args: {
          type: 'object',
          properties: {
            cluster: { type: 'string', description: 'The job’s cluster' },
            job: { type: 'string', description: 'The job ID' }
          }
        }
      },
      execute: async args => {
        const target = rowJob(args);
        if (!target) {
          return null;
        }
        let jobName = '';
        try {
          jobName = (await getJob(target.cluster, target.job, settings())).name;
        } catch {
          // the name is only a suggestion
        }
        const { templateName } = await import('./model');
        const suggested = templateName(jobName) || `job-${target.job}`;
        const answer = await showDialog({
          title: trans.__('Save job %1 as a workflow template', target.job),
          body: new SaveTemplateBody(
            { name: suggested, display_name: jobName || suggested },
            trans
          ),
          buttons: [
            Dialog.cancelButton(),
            Dialog.okButton({ label: trans.__('Save') })
          ]
        });
        if (!answer.button.accept || !answer.value) {
          return null;
        }
        const body = answer.value;
        try {
          const info = await saveJobAsTemplate(
            target.cluster,
            target.job,
            {
              name: body.name,
              ...(body.display_name ? { display_name: body.display_name } : {}),
              ...(body.description ? { description: body.description } : {})
            },
            settings()
          );
          void syncLauncher();
          for (const tab of tracker.filter(() => true)) {
            void tab.content.model.loadCatalog();
          }
          Notification.success(
            trans.__('Saved %1 as a workflow template.', info.display_name),
            {
              autoClose: 8000,
              actions: [
                {
                  label: trans.__('Open Workflows'),
                  callback: () =>
                    void openView(target.cluster, '', true).catch(() => null)
                }
              ]
            }
          );
          return info;
        } catch (reason) {
          Notification.error(
            trans.__(
              'Job %1 was not saved as a template: %2',
              target.job,
              errorText(reason)
            ),
            { autoClose: 10000 }
          );
          return null;
        }
      }
    });
    app.contextMenu.addItem({
      command: WorkflowCommandIDs.saveJob,
      selector: '.jp-rpc-JobsTable-row[data-job-id][data-cluster]',
      rank: 3
    });

    // Run on Cluster… of a notebook: the file browser's menu and the
    // notebook's toolbar.
    const notebookPath = (args: Record<string, unknown>): string => {
      if (typeof args.path === 'string' && args.path) {
        return args.path;
      }
      const item = factory?.tracker.currentWidget?.selectedItems().next();
      if (item && !item.done && item.value.type === 'notebook') {
        return item.value.path;
      }
      const current = app.shell.currentWidget as {
        context?: { path?: string };
      } | null;
      const path = current?.context?.path ?? '';
      return path.endsWith('.ipynb') ? path : '';
    };
    app.commands.addCommand(WorkflowCommandIDs.runNotebook, {
      label: trans.__('Run on Cluster…'),
      caption: trans.__(
        'Run this notebook as a batch job on a cluster, with other values for its parameters cell'
      ),
      icon: workflowsIcon,
      isEnabled: () => permissions.current.execute,
      describedBy: {
        args: {
          type: 'object',
          properties: {
            path: {
              type: 'string',
              description:
                'The notebook (default: the one selected in the file browser, or the current one)'
            }
          }
        }
      },
      execute: async args => {
        const path = notebookPath(args);
        if (!path) {
          return null;
        }
        let notebook: Record<string, unknown>;
        try {
          const model = await app.serviceManager.contents.get(path, {
            content: true,
            type: 'notebook'
          });
          notebook = model.content as Record<string, unknown>;
        } catch (reason) {
          Notification.error(
            trans.__('Cannot read %1: %2', path, errorText(reason)),
            { autoClose: 8000 }
          );
          return null;
        }
        await clusters.ready;
        const drive = /^rpc-([^:/]+):/.exec(path)?.[1] ?? '';
        const cluster =
          clusters.clusters.find(
            c => c.name === drive && c.scheduler !== 'none'
          )?.name ??
          clusters.clusters.find(c => c.scheduler !== 'none')?.name ??
          '';
        const tab = await openView(cluster, '', true);
        await tab.content.model.openNotebookForm({ path, notebook, cluster });
        return tab;
      }
    });
    app.contextMenu.addItem({
      command: WorkflowCommandIDs.runNotebook,
      selector: '.jp-DirListing-item[data-file-type="notebook"]',
      rank: 10
    });
    app.docRegistry.addWidgetExtension('Notebook', {
      createNew: (panel: DocumentWidget) => {
        const button = new ToolbarButton({
          icon: workflowsIcon,
          tooltip: trans.__('Run on a cluster as a batch job…'),
          onClick: () =>
            void app.commands.execute(WorkflowCommandIDs.runNotebook, {
              path: panel.context.path
            })
        });
        panel.toolbar.insertAfter(
          'cellType',
          'jupyter-rpc-run-on-cluster',
          button
        );
        return button;
      }
    });

    palette?.addItem({
      command: WorkflowCommandIDs.open,
      args: { isPalette: true },
      category: trans.__('Workflows')
    });

    if (restorer) {
      void restorer.restore(tracker, {
        command: WorkflowCommandIDs.open,
        args: tab => ({ cluster: tab.content.model.cluster, activate: false }),
        name: () => 'workflows'
      });
    }

    // The Launcher: a section per cluster with its templates, kept as the
    // clusters and templates change.
    const items = new Map<string, IDisposable[]>();
    let syncing: Promise<void> | null = null;
    const syncLauncher = async (): Promise<void> => {
      if (!launcher) {
        return;
      }
      while (syncing) {
        await syncing;
      }
      syncing = (async () => {
        await clusters.ready;
        const names = new Set<string>();
        for (const cluster of clusters.clusters) {
          if (cluster.scheduler === 'none') {
            continue;
          }
          names.add(cluster.name);
          let list: IWorkflowInfo[];
          try {
            list = (await listWorkflows(cluster.name, settings())).workflows;
          } catch (reason) {
            console.warn(
              `jupyter-rpc: no workflows for cluster ${cluster.name}:`,
              reason
            );
            continue;
          }
          items.get(cluster.name)?.forEach(d => d.dispose());
          const category = trans.__(
            'Workflows on %1',
            cluster.display_name || cluster.name
          );
          const added: IDisposable[] = [];
          list.forEach((info, rank) => {
            templates.set(`${cluster.name}/${info.name}`, info);
            added.push(
              launcher.add({
                command: WorkflowCommandIDs.run,
                args: { cluster: cluster.name, workflow: info.name },
                category,
                rank
              })
            );
          });
          if (list.length) {
            added.push(
              launcher.add({
                command: WorkflowCommandIDs.open,
                args: { cluster: cluster.name },
                category,
                rank: list.length
              })
            );
          }
          items.set(cluster.name, added);
        }
        for (const [name, added] of items) {
          if (!names.has(name)) {
            added.forEach(d => d.dispose());
            items.delete(name);
          }
        }
      })();
      try {
        await syncing;
      } finally {
        syncing = null;
      }
    };
    clusters.changed.connect(() => void syncLauncher());
    void syncLauncher();
  }
};

/**
 * What Save as template asks: the template's name, title and description.
 */
interface ISaveTemplate {
  name: string;
  display_name: string;
  description: string;
}

/**
 * The body of the Save as template dialog.
 */
class SaveTemplateBody
  extends ReactWidget
  implements Dialog.IBodyWidget<ISaveTemplate>
{
  constructor(
    initial: Pick<ISaveTemplate, 'name' | 'display_name'>,
    private _trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-rpc-SaveTemplate');
    this._value = { ...initial, description: '' };
  }

  getValue(): ISaveTemplate {
    return this._value;
  }

  render(): JSX.Element {
    return (
      <SaveTemplateForm
        initial={this._value}
        trans={this._trans}
        onChange={v => {
          this._value = v;
        }}
      />
    );
  }

  private _value: ISaveTemplate;
}

function SaveTemplateForm(props: {
  initial: ISaveTemplate;
  trans: TranslationBundle;
  onChange: (value: ISaveTemplate) => void;
}): JSX.Element {
  const { trans } = props;
  const [value, setValue] = useState(props.initial);
  const set = (key: keyof ISaveTemplate, text: string): void => {
    const next = { ...value, [key]: text };
    setValue(next);
    props.onChange(next);
  };
  const nameOk = /^[a-z][a-z0-9_-]{0,63}$/.test(value.name);
  return (
    <div className="jp-rpc-SaveTemplate-form">
      <p className="jp-rpc-muted">
        {trans.__(
          'The job’s script and resources become a template of your own, with no inputs; it is listed with the site’s workflows.'
        )}
      </p>
      <label>
        {trans.__('Name')}
        <input
          className="jp-mod-styled"
          name="name"
          value={value.name}
          required
          pattern="[a-z][a-z0-9_\-]{0,63}"
          aria-invalid={!nameOk}
          onChange={e => set('name', e.target.value)}
        />
      </label>
      {!nameOk && (
        <div className="jp-rpc-SaveTemplate-error" role="alert">
          {trans.__(
            'Lower-case letters, digits, - and _, starting with a letter.'
          )}
        </div>
      )}
      <label>
        {trans.__('Title')}
        <input
          className="jp-mod-styled"
          name="display_name"
          value={value.display_name}
          onChange={e => set('display_name', e.target.value)}
        />
      </label>
      <label>
        {trans.__('Description')}
        <textarea
          className="jp-mod-styled"
          name="description"
          rows={3}
          value={value.description}
          onChange={e => set('description', e.target.value)}
        />
      </label>
    </div>
  );
}

export default [workflowsPlugin];
