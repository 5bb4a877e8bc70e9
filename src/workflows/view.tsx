/**
 * The Workflows view, a main-area tab (`jupyter-rpc:open-workflows`): a
 * cluster's catalog of templates and its runs; the run chosen shows each
 * step's state and elapsed time, the failed step with its log tail, the
 * outputs (Open in Lab, Download), the inputs used, Run again and Cancel.
 * A run that has not ended is followed: asked again every 2 s after a change,
 * less and less often while nothing changes (up to 30 s), not at all while
 * the tab or the page is hidden, and no more once it ended.
 */
import type { ServerConnection } from '@jupyterlab/services';
import type { TranslationBundle } from '@jupyterlab/translation';
import { Button, LabIcon, ReactWidget } from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';
import { Signal } from '@lumino/signaling';
import React from 'react';
import { ClusterSelect } from '../clusters/ClusterSelect';
import type { IClustersManager } from '../clusters/tokens';
import { formatRelative, formatTime } from '../jobs/format';
import { formatJobDuration } from '../shared/duration';
import { errorText } from '../shared/errors';
import { useNow, useSignals } from '../shared/hooks';
import type {
  IWorkflowInfo,
  IWorkflowList,
  IWorkflowRun,
  IWorkflowRunOutput,
  IWorkflowRunStep
} from './api';
import {
  cancelRun,
  getRun,
  listRuns,
  listWorkflows,
  runAgainForm
} from './api';
import { RunForm } from './form';
import { NotebookRunForm } from './notebookform';
import type { INotebookRunRequest } from './notebookform';
import type { IRunFormContext, IRunFormRequest } from './form';
import {
  elapsedAt,
  formatSize,
  inputText,
  isEnded,
  nextDelay,
  runElapsedAt,
  runSignature,
  stateLabel,
  stepsLine,
  tasksText
} from './model';

/**
 * What the view asks the plugin to do.
 */
export interface IWorkflowsActions {
  /** A run was submitted from the form (the view then shows it). */
  submitted(run: IWorkflowRun): void;
  /** Open a file of a run in Lab. */
  open(run: IWorkflowRun, output: IWorkflowRunOutput): Promise<void>;
  /** Download a file of a run. */
  download(run: IWorkflowRun, output: IWorkflowRunOutput): Promise<void>;
  /** Show the run's folder in the Remote files panel. */
  openFolder(run: IWorkflowRun): Promise<void>;
  /** Remove a template of the user's own (after asking). */
  remove(cluster: string, info: IWorkflowInfo): Promise<boolean>;
}

/**
 * The state of the view, outside React.
 */
export class WorkflowsModel {
  constructor(
    private _options: {
      clusters: IClustersManager;
      settings: () => ServerConnection.ISettings;
    }
  ) {}

  readonly changed = new Signal<this, void>(this);

  /** The cluster shown. */
  get cluster(): string {
    return this._cluster;
  }

  catalog: IWorkflowList | null = null;
  catalogError = '';
  runs: IWorkflowRun[] = [];
  runsError = '';
  /** The run shown (its id), and it as last asked. */
  selected = '';
  run: IWorkflowRun | null = null;
  runError = '';
  /** When the list and the run were last asked (ms). */
  asked = 0;
  /** The run form shown instead of a run (null: none). */
  form: IRunFormRequest | null = null;
  /** Run on Cluster… of a notebook, shown instead of a run (null: none). */
  notebook: INotebookRunRequest | null = null;

  /**
   * Show the form that runs a notebook on a cluster.
   */
  async openNotebookForm(request: INotebookRunRequest): Promise<void> {
    await this.show(request.cluster);
    this.form = null;
    this.notebook = request;
    this.changed.emit();
  }

  /**
   * Show the run form of a template (on its cluster).
   */
  async openForm(request: IRunFormRequest): Promise<void> {
    await this.show(request.cluster);
    this.notebook = null;
    this.form = { ...request };
    this.changed.emit();
  }

  /**
   * Close the run form; show the run it submitted, if any.
   */
  async closeForm(run: IWorkflowRun | null): Promise<void> {
    this.form = null;
    this.notebook = null;
    this.changed.emit();
    if (run) {
      await this.show(run.cluster);
      await this.select(run.id);
    }
  }

  /**
   * The run form with a run's template, form and values.
   */
  async runAgain(run: IWorkflowRun): Promise<void> {
    try {
      const again = await runAgainForm(
        run.cluster,
        run.id,
        this._options.settings()
      );
      await this.openForm({
        cluster: run.cluster,
        workflow: again.workflow,
        preset: { form: again.form, values: again.values }
      });
    } catch (reason) {
      this.runError = errorText(reason);
      this.changed.emit();
    }
  }

  /**
   * Show a cluster (and a run of it).
   */
  async show(cluster: string, run = ''): Promise<void> {
    if (cluster && cluster !== this._cluster) {
      this._cluster = cluster;
      this.catalog = null;
      this.runs = [];
      this.run = null;
      this.selected = '';
      this.form = null;
      this.notebook = null;
      this.catalogError = this.runsError = this.runError = '';
      this.changed.emit();
      await Promise.all([this.loadCatalog(), this.refresh()]);
    }
    if (run) {
      await this.select(run);
    }
  }

  /**
   * Choose a run (`''`: none).
   */
  async select(id: string): Promise<void> {
    this.selected = id;
    if (id) {
      this.form = null;
      this.notebook = null;
    }
    if (!id) {
      this.run = null;
      this.changed.emit();
      return;
    }
    if (this.run?.id !== id) {
      this.run = this.runs.find(r => r.id === id) ?? null;
    }
    this.runError = '';
    this.changed.emit();
    await this.refresh();
  }

  /**
   * The catalog of the cluster again.
   */
  async loadCatalog(): Promise<void> {
    const cluster = this._cluster;
    if (!cluster) {
      return;
    }
    try {
      const catalog = await listWorkflows(cluster, this._options.settings());
      if (cluster === this._cluster) {
        this.catalog = catalog;
        this.catalogError = '';
      }
    } catch (reason) {
      if (cluster === this._cluster) {
        this.catalogError = errorText(reason);
      }
    }
    this.changed.emit();
  }

  /**
   * Ask the runs (and the chosen one) again; whether anything changed.
   */
  async refresh(): Promise<boolean> {
    const cluster = this._cluster;
    if (!cluster) {
      return false;
    }
    const settings = this._options.settings();
    const before = this._signature();
    const selected = this.selected;
    const [runs, run] = await Promise.allSettled([
      listRuns(cluster, settings),
      selected ? getRun(cluster, selected, settings) : Promise.resolve(null)
    ]);
    if (cluster !== this._cluster) {
      return false;
    }
    if (runs.status === 'fulfilled') {
      this.runs = runs.value;
      this.runsError = '';
    } else {
      this.runsError = errorText(runs.reason);
    }
    if (selected === this.selected) {
      if (run.status === 'fulfilled') {
        this.run = run.value;
        this.runError = '';
      } else {
        this.runError = errorText(run.reason);
      }
    }
    this.asked = Date.now();
    this.changed.emit();
    return this._signature() !== before;
  }

  /**
   * Cancel every step of the chosen run that has not ended.
   */
  async cancel(): Promise<void> {
    const run = this.run;
    if (!run) {
      return;
    }
    try {
      this.run = await cancelRun(run.cluster, run.id, this._options.settings());
      this.runError = '';
    } catch (reason) {
      this.runError = errorText(reason);
    }
    this.changed.emit();
    await this.refresh();
  }

  /**
   * Whether anything shown may still change (a run not ended).
   */
  get following(): boolean {
    if (this.run && !isEnded(this.run.state)) {
      return true;
    }
    return this.runs.some(r => !isEnded(r.state));
  }

  private _signature(): string {
    return JSON.stringify([
      this.runs.map(r => [r.id, r.state]),
      this.run ? runSignature(this.run) : ''
    ]);
  }

  private _cluster = '';
}

/**
 * The content of the Workflows tab.
 */
export class WorkflowsView extends ReactWidget {
  constructor(
    private _options: {
      clusters: IClustersManager;
      settings: () => ServerConnection.ISettings;
      actions: IWorkflowsActions;
      form: IRunFormContext;
      trans: TranslationBundle;
      icon: LabIcon;
    }
  ) {
    super();
    this.addClass('jp-rpc-Workflows');
    this.model = new WorkflowsModel(_options);
    this.model.changed.connect(() => {
      // Once every run shown has ended (a Cancel, a look of the list), the
      // look already planned is not made.
      if (!this.model.following) {
        this._stop();
      }
      this.update();
    });
    document.addEventListener('visibilitychange', this._onVisibility);
  }

  readonly model: WorkflowsModel;

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._stop();
    document.removeEventListener('visibilitychange', this._onVisibility);
    super.dispose();
  }

  /**
   * Show a cluster (and a run of it), then follow what has not ended.
   */
  async showRun(cluster: string, run = ''): Promise<void> {
    await this.model.show(cluster, run);
    this.follow(true);
  }

  /**
   * Ask again soon (`changed`: at the first delay), unless nothing shown can
   * change or the tab or page is hidden.
   */
  follow(changed: boolean): void {
    this._stop();
    if (!this.model.following || !this._visible()) {
      this._delay = 0;
      return;
    }
    this._delay = nextDelay(this._delay, changed);
    this._timer = window.setTimeout(() => {
      this._timer = 0;
      void this.model.refresh().then(c => this.follow(c));
    }, this._delay);
  }

  /** The delay of the next look (ms; 0 when not following). */
  get delay(): number {
    return this._timer ? this._delay : 0;
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this.model.refresh().then(() => this.follow(true));
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this._stop();
  }

  render(): JSX.Element {
    return (
      <WorkflowsBody
        model={this.model}
        view={this}
        clusters={this._options.clusters}
        actions={this._options.actions}
        form={this._options.form}
        trans={this._options.trans}
        icon={this._options.icon}
      />
    );
  }

  private _visible(): boolean {
    return this.isVisible && document.visibilityState !== 'hidden';
  }

  private _stop(): void {
    if (this._timer) {
      window.clearTimeout(this._timer);
      this._timer = 0;
    }
  }

  private _onVisibility = (): void => {
    if (document.visibilityState === 'hidden') {
      this._stop();
    } else if (this.isVisible) {
      void this.model.refresh().then(() => this.follow(true));
    }
  };

  private _timer = 0;
  private _delay = 0;
}

function WorkflowsBody(props: {
  model: WorkflowsModel;
  view: WorkflowsView;
  clusters: IClustersManager;
  actions: IWorkflowsActions;
  form: IRunFormContext;
  trans: TranslationBundle;
  icon: LabIcon;
}): JSX.Element {
  const { model, view, clusters, actions, trans } = props;
  useSignals(model.changed, clusters.changed);
  const withScheduler = clusters.clusters.filter(c => c.scheduler !== 'none');
  const cluster = model.cluster;
  const formDone = (run: IWorkflowRun | null): void => {
    if (run) {
      actions.submitted(run);
    }
    void model.closeForm(run).then(() => view.follow(true));
  };
  return (
    <div className="jp-rpc-Workflows-main">
      <div className="jp-rpc-Workflows-bar">
        <ClusterSelect
          clusters={withScheduler}
          value={cluster}
          onChange={name => void view.showRun(name)}
          placeholder={trans.__('Choose a cluster')}
          trans={trans}
        />
        <Button
          small
          className="jp-mod-styled"
          disabled={!cluster}
          onClick={() =>
            void Promise.all([model.loadCatalog(), model.refresh()]).then(() =>
              view.follow(true)
            )
          }
        >
          {trans.__('Refresh')}
        </Button>
      </div>
      <div className="jp-rpc-Workflows-columns">
        <div className="jp-rpc-Workflows-side">
          <h2 className="jp-rpc-Workflows-heading">{trans.__('Workflows')}</h2>
          <Catalog
            model={model}
            actions={actions}
            trans={trans}
            icon={props.icon}
          />
          <h2 className="jp-rpc-Workflows-heading">{trans.__('Runs')}</h2>
          <RunList model={model} trans={trans} />
        </div>
        <div className="jp-rpc-Workflows-detail">
          {model.runError && (
            <div className="jp-rpc-SubmitJob-problems" role="alert">
              {model.runError}
            </div>
          )}
          {model.notebook ? (
            <NotebookRunForm
              key={model.notebook.path}
              {...props.form}
              request={model.notebook}
              trans={trans}
              onDone={formDone}
            />
          ) : model.form ? (
            <RunForm
              key={JSON.stringify([model.form.cluster, model.form.workflow])}
              {...props.form}
              request={model.form}
              trans={trans}
              onDone={formDone}
            />
          ) : model.run ? (
            <RunDetail
              run={model.run}
              model={model}
              actions={actions}
              trans={trans}
            />
          ) : (
            <div className="jp-rpc-muted jp-rpc-Workflows-empty">
              {cluster
                ? trans.__('Choose a run, or run a workflow of the catalog.')
                : trans.__('Choose a cluster.')}
            </div>
          )}
        </div>
      </div>
    </div>
  );
}

function Catalog(props: {
  model: WorkflowsModel;
  actions: IWorkflowsActions;
  trans: TranslationBundle;
  icon: LabIcon;
}): JSX.Element {
  const { model, actions, trans } = props;
  const Icon = props.icon.react;
  if (model.catalogError) {
    return (
      <div className="jp-rpc-SubmitJob-problems" role="alert">
        {model.catalogError}
      </div>
    );
  }
  if (!model.catalog) {
    return model.cluster ? (
      <div className="jp-rpc-muted">{trans.__('Loading the catalog…')}</div>
    ) : (
      <></>
    );
  }
  const { workflows, problems } = model.catalog;
  return (
    <div className="jp-rpc-WorkflowCatalog">
      {!workflows.length && (
        <div className="jp-rpc-muted">
          {trans.__('No workflow template fits this cluster.')}
        </div>
      )}
      <ul className="jp-rpc-WorkflowCatalog-list">
        {workflows.map(w => (
          <li
            key={w.name}
            className="jp-rpc-WorkflowCard"
            data-workflow={w.name}
          >
            <Icon className="jp-rpc-WorkflowCard-icon" tag="span" />
            <div className="jp-rpc-WorkflowCard-text">
              <div className="jp-rpc-WorkflowCard-name">
                {w.display_name || w.name}
                {w.source === 'user' && (
                  <span className="jp-rpc-WorkflowCard-mine">
                    {trans.__('yours')}
                  </span>
                )}
              </div>
              {w.description && (
                <div className="jp-rpc-WorkflowCard-description">
                  {w.description}
                </div>
              )}
              <div className="jp-rpc-WorkflowCard-steps">
                {stepsLine(w.steps)}
              </div>
            </div>
            <div className="jp-rpc-WorkflowCard-actions">
              <Button
                small
                className="jp-mod-styled jp-mod-accept"
                onClick={() =>
                  void model.openForm({
                    cluster: model.cluster,
                    workflow: w.name
                  })
                }
              >
                {trans.__('Run…')}
              </Button>
              {w.source === 'user' && (
                <Button
                  small
                  className="jp-mod-styled"
                  title={trans.__('Remove this template of yours')}
                  onClick={() =>
                    void actions
                      .remove(model.cluster, w)
                      .then(done => (done ? model.loadCatalog() : undefined))
                  }
                >
                  {trans.__('Remove')}
                </Button>
              )}
            </div>
          </li>
        ))}
      </ul>
      {problems.length > 0 && (
        <details className="jp-rpc-WorkflowCatalog-problems">
          <summary>
            {trans._n(
              '%1 template could not be loaded',
              '%1 templates could not be loaded',
              problems.length
            )}
          </summary>
          <ul>
            {problems.map((p, i) => (
              <li key={i}>
                <code>{p.file}</code>: {p.message}
              </li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}

function StateBadge(props: {
  state: IWorkflowRun['state'];
  trans: TranslationBundle;
}): JSX.Element {
  return (
    <span
      className={`jp-rpc-JobState jp-rpc-mod-${props.state} jp-rpc-WorkflowState`}
      data-state={props.state}
    >
      {stateLabel(props.state, props.trans)}
    </span>
  );
}

function RunList(props: {
  model: WorkflowsModel;
  trans: TranslationBundle;
}): JSX.Element {
  const { model, trans } = props;
  const now =
    useNow(
      model.runs.some(r => !isEnded(r.state)),
      1000
    ) / 1000;
  if (model.runsError) {
    return (
      <div className="jp-rpc-SubmitJob-problems" role="alert">
        {model.runsError}
      </div>
    );
  }
  if (!model.runs.length) {
    return model.cluster ? (
      <div className="jp-rpc-muted">{trans.__('No run yet.')}</div>
    ) : (
      <></>
    );
  }
  return (
    <ul className="jp-rpc-WorkflowRuns" aria-label={trans.__('Runs')}>
      {model.runs.map(r => {
        const selected = r.id === model.selected;
        return (
          <li key={r.id}>
            <button
              type="button"
              className={`jp-rpc-WorkflowRunItem${selected ? ' jp-mod-selected' : ''}`}
              aria-pressed={selected}
              data-run-id={r.id}
              onClick={() => void model.select(selected ? '' : r.id)}
            >
              <span className="jp-rpc-WorkflowRunItem-name">
                {r.display_name || r.workflow}
              </span>
              <StateBadge state={r.state} trans={trans} />
              <span className="jp-rpc-WorkflowRunItem-when">
                {formatRelative(r.created, now)}
                {' · '}
                {formatJobDuration(runElapsedAt(r, now))}
              </span>
            </button>
          </li>
        );
      })}
    </ul>
  );
}

function RunDetail(props: {
  run: IWorkflowRun;
  model: WorkflowsModel;
  actions: IWorkflowsActions;
  trans: TranslationBundle;
}): JSX.Element {
  const { run, model, actions, trans } = props;
  const ended = isEnded(run.state);
  const now = useNow(!ended, 1000) / 1000;
  const elapsed = formatJobDuration(runElapsedAt(run, now));
  const inputs = Object.entries(run.inputs);
  return (
    <div className="jp-rpc-WorkflowRun" data-run-id={run.id}>
      <div className="jp-rpc-WorkflowRun-head">
        <h2 className="jp-rpc-WorkflowRun-title">
          {run.display_name || run.workflow}
        </h2>
        <StateBadge state={run.state} trans={trans} />
        {elapsed && (
          <span className="jp-rpc-WorkflowRun-elapsed">
            {trans.__('elapsed %1', elapsed)}
          </span>
        )}
      </div>
      <div className="jp-rpc-WorkflowRun-where">
        {trans.__(
          'Run %1 on %2, submitted %3',
          run.id,
          run.cluster,
          formatTime(run.created)
        )}
      </div>
      <div className="jp-rpc-WorkflowRun-actions">
        <Button
          small
          className="jp-mod-styled"
          onClick={() => void model.runAgain(run)}
        >
          {trans.__('Run again…')}
        </Button>
        {!ended && (
          <Button
            small
            className="jp-mod-styled jp-mod-warn"
            title={trans.__('Cancel every step that has not ended')}
            onClick={() => void model.cancel()}
          >
            {trans.__('Cancel')}
          </Button>
        )}
        <Button
          small
          className="jp-mod-styled"
          title={run.folder}
          onClick={() => void actions.openFolder(run)}
        >
          {trans.__('Show folder')}
        </Button>
      </div>
      {run.message && (
        <div
          className={`jp-rpc-WorkflowRun-message${run.failed_step ? ' jp-rpc-mod-failed' : ''}`}
          role={run.failed_step ? 'alert' : undefined}
        >
          {run.message}
        </div>
      )}
      <ProgressLine run={run} trans={trans} />
      {run.failed_step && run.log_tail && (
        <div className="jp-rpc-WorkflowRun-log">
          <div className="jp-rpc-WorkflowRun-subheading">
            {trans.__('The end of the log of %1', run.failed_step)}
          </div>
          <pre className="jp-rpc-WorkflowRun-logTail">{run.log_tail}</pre>
        </div>
      )}
      <h3 className="jp-rpc-WorkflowRun-subheading">{trans.__('Steps')}</h3>
      <table className="jp-rpc-WorkflowSteps">
        <thead>
          <tr>
            <th>{trans.__('Step')}</th>
            <th>{trans.__('State')}</th>
            <th>{trans.__('Elapsed')}</th>
            <th>{trans.__('Job')}</th>
            <th>{trans.__('After')}</th>
            <th>{trans.__('Details')}</th>
          </tr>
        </thead>
        <tbody>
          {run.steps.map(s => (
            <StepRow
              key={s.name}
              step={s}
              now={now}
              failed={s.name === run.failed_step}
              trans={trans}
            />
          ))}
        </tbody>
      </table>
      <h3 className="jp-rpc-WorkflowRun-subheading">{trans.__('Outputs')}</h3>
      {run.outputs.length ? (
        <ul className="jp-rpc-WorkflowOutputs">
          {run.outputs.map(o => (
            <li key={o.path} data-path={o.path}>
              <code className="jp-rpc-WorkflowOutputs-path">{o.path}</code>
              <span className="jp-rpc-muted">{formatSize(o.size)}</span>
              <Button
                small
                className="jp-mod-styled"
                disabled={!o.drive_path}
                title={
                  o.drive_path
                    ? trans.__('Open in JupyterLab')
                    : trans.__('No folder of the cluster’s files holds it')
                }
                onClick={() => void actions.open(run, o)}
              >
                {trans.__('Open')}
              </Button>
              <Button
                small
                className="jp-mod-styled"
                disabled={!o.drive_path}
                onClick={() => void actions.download(run, o)}
              >
                {trans.__('Download')}
              </Button>
            </li>
          ))}
        </ul>
      ) : (
        <div className="jp-rpc-muted">
          {ended
            ? trans.__('The run left no outputs.')
            : trans.__('Outputs are listed as the steps write them.')}
        </div>
      )}
      <h3 className="jp-rpc-WorkflowRun-subheading">
        {trans.__('Inputs used')}
      </h3>
      {inputs.length ? (
        <table className="jp-rpc-WorkflowInputs">
          <tbody>
            {inputs.map(([key, value]) => (
              <tr key={key} data-input={key}>
                <th>{key}</th>
                <td>{inputText(value)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <div className="jp-rpc-muted">{trans.__('None.')}</div>
      )}
    </div>
  );
}

/**
 * What the run folder's progress file says: a notebook run's code cells run so far.
 */
function ProgressLine(props: {
  run: IWorkflowRun;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { run, trans } = props;
  if (!run.progress?.total) {
    return null;
  }
  const { done, total } = run.progress;
  const label = run.workflow.startsWith('nb-')
    ? trans.__('%1 of %2 code cells run', done, total)
    : trans.__('%1 of %2 done', done, total);
  return (
    <div className="jp-rpc-WorkflowRun-progress">
      <progress max={total} value={Math.min(done, total)} aria-label={label} />
      <span>{label}</span>
    </div>
  );
}

function StepRow(props: {
  step: IWorkflowRunStep;
  now: number;
  failed: boolean;
  trans: TranslationBundle;
}): JSX.Element {
  const { step, now, trans } = props;
  const details = [
    tasksText(step.tasks, trans),
    step.exit_code !== null && step.exit_code !== 0
      ? trans.__('exit code %1', step.exit_code)
      : '',
    step.reason
  ].filter(Boolean);
  return (
    <tr
      className={`jp-rpc-WorkflowSteps-row${props.failed ? ' jp-rpc-mod-failed' : ''}`}
      data-step={step.name}
      data-state={step.state}
    >
      <td>
        {step.name}
        {step.array && <span className="jp-rpc-muted"> [{step.array}]</span>}
      </td>
      <td>
        <StateBadge state={step.state} trans={trans} />
      </td>
      <td className="jp-rpc-WorkflowSteps-elapsed">
        {formatJobDuration(elapsedAt(step, now))}
      </td>
      <td>{step.job_id}</td>
      <td>{step.after.join(', ')}</td>
      <td>{details.join(' · ')}</td>
    </tr>
  );
}
