/**
 * The Jobs view in the main area: a cluster's queue and history on the left, the
 * selected job's detail beside them, every column with its room. The side panel
 * stays the compact view; both are made of the same parts (`JobsList`,
 * `HistoryList`, `JobDetail`), each with its own `JobsPanelModel`.
 *
 * Keyboard: the arrows (and Home/End) move the selection within a table, Enter
 * opens the selected job's detail (focuses it), Delete cancels a running job after
 * asking.
 */
import { MainAreaWidget, Notification } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import type { CommandRegistry } from '@lumino/commands';
import type { Message } from '@lumino/messaging';
import React, { useEffect, useRef } from 'react';
import type { IClustersManager } from '../clusters/tokens';
import { errorText } from '../shared/errors';
import { useSignals } from '../shared/hooks';
import { HistoryList } from './HistoryView';
import { confirmCancel, JobDetail } from './JobDetail';
import { ClusterBar, JobsList, useDefaultCluster } from './JobsView';
import type { JobsManager, JobsRegistry } from './manager';
import { JobsPanelModel } from './model';
import { jobsIcon } from './panel';
import { isActive } from './states';

/**
 * The content of a {@link JobsMainPanel}.
 */
export class JobsMainView extends ReactWidget {
  constructor(options: JobsMainView.IOptions) {
    super();
    this._options = options;
    this.model = new JobsPanelModel();
    this.addClass('jp-rpc-JobsMainView');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', options.trans.__('Jobs'));
  }

  /** What the view shows (its own: the side panel's selection is not changed). */
  readonly model: JobsPanelModel;

  protected render(): JSX.Element {
    return <JobsMainBody model={this.model} {...this._options} />;
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.model.visible = true;
  }

  protected onBeforeHide(msg: Message): void {
    super.onBeforeHide(msg);
    this.model.visible = false;
  }

  private _options: JobsMainView.IOptions;
}

/**
 * The namespace for `JobsMainView` statics.
 */
export namespace JobsMainView {
  export interface IOptions {
    clusters: IClustersManager;
    registry: JobsRegistry;
    commands: CommandRegistry;
    trans: TranslationBundle;
  }
}

/**
 * The main-area tab holding a {@link JobsMainView}.
 */
export class JobsMainPanel extends MainAreaWidget<JobsMainView> {
  constructor(options: JobsMainView.IOptions) {
    super({ content: new JobsMainView(options) });
    this.id = 'jp-rpc-jobs-main';
    this.addClass('jp-rpc-JobsMainPanel');
    this.title.label = options.trans.__('Jobs');
    this.title.caption = options.trans.__(
      'The jobs of a cluster: queue, history and detail'
    );
    this.title.icon = jobsIcon;
    this.title.closable = true;
  }
}

/**
 * The table row a key event came from (a job's row, not an array's).
 */
function rowOf(target: EventTarget | null): HTMLTableRowElement | null {
  const node = target instanceof HTMLElement ? target : null;
  const row = node?.closest('tr[data-job-id]');
  return row instanceof HTMLTableRowElement && row === node ? row : null;
}

function JobsMainBody(
  props: JobsMainView.IOptions & { model: JobsPanelModel }
): JSX.Element {
  const { model, clusters, registry, commands, trans } = props;
  useSignals(model.changed, clusters.changed);
  useDefaultCluster(model, clusters);
  const detailRef = useRef<HTMLDivElement>(null);
  const focusDetail = useRef(false);
  const manager = model.cluster ? registry.get(model.cluster) : null;

  // Enter on a row not yet shown: focus its detail once it is there.
  useEffect(() => {
    if (!focusDetail.current) {
      return;
    }
    let tries = 0;
    const timer = window.setInterval(() => {
      const detail =
        detailRef.current?.querySelector<HTMLElement>('.jp-rpc-JobDetail');
      if (detail || ++tries > 40) {
        window.clearInterval(timer);
        focusDetail.current = false;
        detail?.focus();
      }
    }, 50);
    return () => window.clearInterval(timer);
  });

  const onKeyDown = (event: React.KeyboardEvent): void => {
    const row = rowOf(event.target);
    if (!row || !manager) {
      return;
    }
    const id = row.dataset.jobId ?? '';
    const rows = Array.from(
      row.parentElement?.querySelectorAll<HTMLTableRowElement>(
        'tr[data-job-id]'
      ) ?? []
    );
    const at = rows.indexOf(row);
    let next: HTMLTableRowElement | undefined;
    switch (event.key) {
      case 'ArrowDown':
        next = rows[Math.min(at + 1, rows.length - 1)];
        break;
      case 'ArrowUp':
        next = rows[Math.max(at - 1, 0)];
        break;
      case 'Home':
        next = rows[0];
        break;
      case 'End':
        next = rows[rows.length - 1];
        break;
      case 'Enter':
        // The row's own handler would toggle the selection off: here Enter opens.
        event.preventDefault();
        event.stopPropagation();
        if (model.selected === id) {
          detailRef.current
            ?.querySelector<HTMLElement>('.jp-rpc-JobDetail')
            ?.focus();
        } else {
          focusDetail.current = true;
          model.selected = id;
        }
        return;
      case 'Delete':
        event.preventDefault();
        event.stopPropagation();
        void cancelWithConfirm(manager, id, trans);
        return;
      default:
        return;
    }
    event.preventDefault();
    event.stopPropagation();
    if (next) {
      next.focus();
      model.selected = next.dataset.jobId ?? '';
    }
  };

  return (
    <div className="jp-rpc-JobsMainView-body">
      <ClusterBar {...props} inTab />
      {!manager && clusters.error && (
        <div className="jp-rpc-Jobs-error" role="alert">
          {trans.__('Cannot list the clusters: %1', errorText(clusters.error))}
        </div>
      )}
      {!manager && !clusters.error && (
        <div className="jp-rpc-muted jp-rpc-Jobs-empty">
          {trans.__('No cluster with a scheduler is configured.')}
        </div>
      )}
      {manager && (
        <div className="jp-rpc-JobsMainView-columns">
          <div
            className="jp-rpc-JobsMainView-lists"
            onKeyDownCapture={onKeyDown}
          >
            <section
              className="jp-rpc-JobsMainView-section"
              aria-labelledby="jp-rpc-JobsMainView-queue"
            >
              <h2
                id="jp-rpc-JobsMainView-queue"
                className="jp-rpc-JobsMainView-heading"
              >
                {trans.__('Current jobs')}
              </h2>
              <JobsList {...props} manager={manager} inTab />
            </section>
            <section
              className="jp-rpc-JobsMainView-section"
              aria-labelledby="jp-rpc-JobsMainView-history"
            >
              <h2
                id="jp-rpc-JobsMainView-history"
                className="jp-rpc-JobsMainView-heading"
              >
                {trans.__('History')}
              </h2>
              <HistoryList
                key={manager.cluster}
                model={model}
                manager={manager}
                trans={trans}
              />
            </section>
          </div>
          <div className="jp-rpc-JobsMainView-detail" ref={detailRef}>
            {model.selected ? (
              <JobDetail
                key={`${model.cluster}/${model.selected}`}
                manager={manager}
                model={model}
                jobId={model.selected}
                commands={commands}
                trans={trans}
              />
            ) : (
              <p className="jp-rpc-muted jp-rpc-JobsMainView-hint">
                {trans.__(
                  'Select a job to see its detail and output. In a table: ↑ ↓ move, Enter opens the detail, Delete cancels.'
                )}
              </p>
            )}
          </div>
        </div>
      )}
    </div>
  );
}

/**
 * Delete on a row: cancel the job after asking, if it is still active.
 */
async function cancelWithConfirm(
  manager: JobsManager,
  id: string,
  trans: TranslationBundle
): Promise<void> {
  const job = manager.job(id);
  if (!job || !isActive(job.state)) {
    return;
  }
  if (!(await confirmCancel(job, trans))) {
    return;
  }
  try {
    await manager.cancel(id);
  } catch (reason) {
    Notification.error(
      trans.__('%1 failed: %2', trans.__('Cancel'), errorText(reason))
    );
  }
}
