import type { TranslationBundle } from '@jupyterlab/translation';
import {
  addIcon,
  Button,
  caretDownIcon,
  caretRightIcon,
  launchIcon,
  refreshIcon,
  ToolbarButtonComponent
} from '@jupyterlab/ui-components';
import type { CommandRegistry } from '@lumino/commands';
import React, { useEffect, useMemo } from 'react';
import { endSession } from '../apps/api';
import { jobSessions, OPEN_SESSION, SessionJobBadge } from '../apps/jobs';
import { ClusterSelect } from '../clusters/ClusterSelect';
import { ClusterTerminalsList } from '../clusters/ClusterTerminals';
import type { ClusterTerminalsRegistry } from '../clusters/terminals';
import { ClusterCommandIDs } from '../clusters/plugin';
import { errorText } from '../shared/errors';
import type { IClustersManager } from '../clusters/tokens';
import { useSignals } from '../shared/hooks';
import { missingPermissionText, usePermissions } from '../shared/permissions';
import type { IJobInfo } from './api';
import { HistoryList } from './HistoryView';
import { JobDetail } from './JobDetail';
import { SelectableJobRow } from './JobRow';
import { formatElapsedLimit } from './format';
import {
  countStates,
  filterRows,
  groupJobs,
  rowElapsed,
  sortRows
} from './rows';
import type { IJobRow, SortKey } from './rows';
import type { JobsManager, JobsRegistry } from './manager';
import type { JobsPanelModel, JobsView as JobsPanelView } from './model';
import { clusterStateLabel, JobStateBadge, jobStateLabel } from './StateBadge';

import { OPEN_JOBS_TAB, SUBMIT_JOB } from './commands';
import { lacks, lackTitle } from './capabilities';

export { SUBMIT_JOB };

/**
 * Properties of {@link JobsView}.
 */
export interface IJobsViewProps {
  model: JobsPanelModel;
  clusters: IClustersManager;
  registry: JobsRegistry;
  commands: CommandRegistry;
  trans: TranslationBundle;
  /** The clusters' open terminals (listed under the cluster bar). */
  terminals?: ClusterTerminalsRegistry;
  /** Shown in the main-area view (src/jobs/JobsMainView.tsx): no "Open in a tab". */
  inTab?: boolean;
}

/**
 * Choose the first cluster with a scheduler once the list is there (and when the
 * chosen one goes away).
 */
export function useDefaultCluster(
  model: JobsPanelModel,
  clusters: IClustersManager
): void {
  const names = clusters.clusters
    .filter(c => c.scheduler !== 'none')
    .map(c => c.name);
  useEffect(() => {
    if ((!model.cluster || !names.includes(model.cluster)) && names.length) {
      model.cluster = names[0];
    }
  }, [names.join('\n')]);
}

/**
 * The jobs panel's content: the cluster, the toolbar, the table, the detail.
 */
export function JobsView(props: IJobsViewProps): JSX.Element {
  const { model, clusters, registry, commands, trans } = props;
  useSignals(model.changed, clusters.changed);
  useDefaultCluster(model, clusters);

  const manager = model.cluster ? registry.get(model.cluster) : null;
  return (
    <div className="jp-rpc-Jobs">
      <ClusterBar {...props} />
      {props.terminals && model.cluster && (
        <ClusterTerminalsList
          key={model.cluster}
          terminals={props.terminals.get(model.cluster)}
          user={clusters.get(model.cluster)?.user ?? ''}
          commands={commands}
          trans={trans}
          active={model.visible}
        />
      )}
      {manager && <ViewTabs {...props} />}
      {manager && model.view === 'queue' && (
        <JobsList {...props} manager={manager} />
      )}
      {manager && model.view === 'history' && (
        <HistoryList
          key={manager.cluster}
          model={model}
          manager={manager}
          trans={trans}
        />
      )}
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
      {manager && model.selected && (
        <JobDetail
          key={`${model.cluster}/${model.selected}`}
          manager={manager}
          model={model}
          jobId={model.selected}
          commands={commands}
          trans={trans}
        />
      )}
    </div>
  );
}

/**
 * The choice between the current jobs and the ended ones.
 */
function ViewTabs(props: IJobsViewProps): JSX.Element {
  const { model, clusters, trans } = props;
  const cluster = clusters.get(model.cluster);
  const tabs: Array<[JobsPanelView, string]> = [
    ['queue', trans.__('Current')],
    ['history', trans.__('History')]
  ];
  return (
    <div
      className="jp-rpc-Jobs-views"
      role="tablist"
      aria-label={trans.__('Jobs to show')}
    >
      {tabs.map(([view, label]) => (
        <button
          key={view}
          role="tab"
          aria-selected={model.view === view}
          className={`jp-rpc-Jobs-viewTab${model.view === view ? ' jp-mod-active' : ''}`}
          disabled={view === 'history' && lacks(cluster, 'history')}
          title={
            view === 'history'
              ? lackTitle(cluster, 'history', trans)
              : undefined
          }
          onClick={() => (model.view = view)}
        >
          {label}
        </button>
      ))}
    </div>
  );
}

/**
 * The cluster picker with its connection state.
 */
export function ClusterBar(props: IJobsViewProps): JSX.Element {
  const { model, clusters, commands, trans } = props;
  const current = clusters.get(model.cluster);
  const choices = clusters.clusters.filter(c => c.scheduler !== 'none');
  const state = current?.state ?? 'idle';
  const may = usePermissions();
  const noWrite = may.write ? undefined : missingPermissionText('write', trans);
  return (
    <div className="jp-rpc-Jobs-clusterBar">
      <ClusterSelect
        className="jp-rpc-Jobs-clusterPicker"
        hideLabel
        clusters={choices}
        value={model.cluster}
        onChange={name => (model.cluster = name)}
        trans={trans}
      />
      {current && (
        <span
          className={`jp-rpc-ClusterState jp-rpc-mod-${state}`}
          title={current.error ? current.error.message : ''}
        >
          {clusterStateLabel(state, trans)}
        </span>
      )}
      {current && current.kind === 'ssh' && state !== 'connected' && (
        <Button
          small
          className="jp-mod-styled"
          disabled={!may.write}
          title={noWrite}
          onClick={() =>
            void commands.execute(ClusterCommandIDs.connect, {
              cluster: current.name
            })
          }
        >
          {trans.__('Connect')}
        </Button>
      )}
      <ToolbarButtonComponent
        icon={addIcon}
        tooltip={noWrite ?? trans.__('Add a cluster')}
        aria-label={trans.__('Add a cluster')}
        enabled={may.write}
        onClick={() =>
          void commands.execute(ClusterCommandIDs.add).then(name => {
            if (typeof name === 'string' && name) {
              model.cluster = name;
            }
          })
        }
      />
      {current?.source === 'user' && (
        <Button
          small
          className="jp-mod-styled"
          aria-label={trans.__('Remove cluster %1', current.name)}
          disabled={!may.write}
          title={noWrite}
          onClick={() =>
            void commands.execute(ClusterCommandIDs.remove, {
              cluster: current.name
            })
          }
        >
          {trans.__('Remove')}
        </Button>
      )}
    </div>
  );
}

/**
 * The columns of the table, with their translated labels.
 */
function tableColumns(
  trans: TranslationBundle
): Array<{ key: SortKey | null; label: string }> {
  return [
    { key: 'id', label: trans.__('ID') },
    { key: 'name', label: trans.__('Name') },
    { key: 'state', label: trans.__('State') },
    { key: 'partition', label: trans.__('Partition') },
    { key: 'elapsed', label: trans.__('Elapsed / limit') },
    { key: null, label: trans.__('Nodes / reason') }
  ];
}

/**
 * The toolbar, the filter and the table of one cluster's jobs.
 */
export function JobsList(
  props: IJobsViewProps & { manager: JobsManager }
): JSX.Element {
  const { model, manager, commands, trans } = props;
  const sessions = jobSessions(props.clusters.serverSettings);
  useSignals(manager.changed, sessions.changed);
  useEffect(() => {
    void sessions.noteJobs(manager.cluster, manager.jobs);
  }, [manager.jobs]);
  const noExecute = usePermissions().execute
    ? null
    : missingPermissionText('execute', trans);

  // This view shows the cluster's jobs while it exists.
  useEffect(() => {
    const view = manager.attach();
    view.setAllUsers(model.allUsers);
    const sync = (): void => view.setAllUsers(model.allUsers);
    model.changed.connect(sync);
    return () => {
      model.changed.disconnect(sync);
      view.dispose();
    };
  }, [manager]);

  const user = manager.user;
  const jobs = manager.jobs.filter(
    j => model.allUsers || !user || !j.user || j.user === user
  );
  const rows = useMemo(
    () => sortRows(filterRows(groupJobs(jobs), model.filter), model.sort),
    [manager.jobs, model.filter, model.sort, model.allUsers, user]
  );
  const columns = tableColumns(trans);

  const onSort = (key: SortKey): void => {
    const sort = model.sort;
    model.sort =
      sort.key === key
        ? { key, ascending: !sort.ascending }
        : { key, ascending: key === 'name' || key === 'partition' };
  };

  return (
    <div className="jp-rpc-Jobs-list">
      <div className="jp-rpc-Jobs-toolbar">
        <Button
          small
          className="jp-mod-styled jp-mod-accept jp-rpc-SubmitJobButton"
          disabled={noExecute !== null}
          title={noExecute ?? undefined}
          onClick={() =>
            void commands.execute(SUBMIT_JOB, { cluster: manager.cluster })
          }
        >
          {trans.__('Submit job…')}
        </Button>
        <ToolbarButtonComponent
          icon={refreshIcon}
          tooltip={trans.__('Refresh the jobs')}
          aria-label={trans.__('Refresh the jobs')}
          onClick={() => void manager.refresh()}
        />
        {!props.inTab && commands.hasCommand(OPEN_JOBS_TAB) && (
          <ToolbarButtonComponent
            icon={launchIcon}
            tooltip={trans.__('Open the jobs in a tab')}
            aria-label={trans.__('Open the jobs in a tab')}
            onClick={() =>
              void commands.execute(OPEN_JOBS_TAB, {
                cluster: manager.cluster,
                job: model.selected,
                fromPanel: true
              })
            }
          />
        )}
        <input
          type="search"
          className="jp-mod-styled jp-rpc-Jobs-filter"
          placeholder={trans.__('Filter')}
          aria-label={trans.__('Filter jobs')}
          value={model.filter}
          onChange={e => (model.filter = e.target.value)}
        />
        <label className="jp-rpc-Jobs-allUsers">
          <input
            type="checkbox"
            checked={model.allUsers}
            onChange={e => (model.allUsers = e.target.checked)}
          />
          {trans.__('All users')}
        </label>
      </div>
      {noExecute && (
        <div className="jp-rpc-PermissionNotice" role="note">
          {noExecute}
        </div>
      )}
      {manager.status === 'error' && manager.error && (
        <div className="jp-rpc-Jobs-error" role="alert">
          {errorText(manager.error)}
        </div>
      )}
      {manager.status === 'loading' && (
        <div className="jp-rpc-muted">{trans.__('Loading jobs…')}</div>
      )}
      {manager.status === 'ready' && rows.length === 0 && (
        <div className="jp-rpc-muted jp-rpc-Jobs-empty">
          {model.filter
            ? trans.__('No job matches the filter.')
            : trans.__('No jobs.')}
        </div>
      )}
      {rows.length > 0 && (
        <table className="jp-rpc-JobsTable" aria-label={trans.__('Jobs')}>
          <thead>
            <tr>
              {columns.map(col => (
                <th
                  key={col.key ?? 'nodes'}
                  scope="col"
                  aria-sort={
                    col.key && model.sort.key === col.key
                      ? model.sort.ascending
                        ? 'ascending'
                        : 'descending'
                      : undefined
                  }
                >
                  {col.key ? (
                    <button
                      className="jp-rpc-JobsTable-sort"
                      onClick={() => onSort(col.key as SortKey)}
                      title={trans.__('Sort by %1', col.label)}
                    >
                      {col.label}
                      {model.sort.key === col.key &&
                        (model.sort.ascending ? ' ▲' : ' ▼')}
                    </button>
                  ) : (
                    col.label
                  )}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map(row => (
              <JobRows key={row.key} row={row} {...props} />
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

/**
 * One job's row, or an array's row and (expanded) its tasks' rows.
 */
function JobRows(
  props: IJobsViewProps & { row: IJobRow; manager: JobsManager }
): JSX.Element {
  const { row, model, trans } = props;
  if (!row.tasks.length) {
    return <JobRow job={row.job} {...props} />;
  }
  const expanded = model.isExpanded(row.key);
  const counts = countStates(row.tasks);
  const summary = Object.entries(counts)
    .map(
      ([state, n]) => `${n} ${jobStateLabel(state as IJobInfo['state'], trans)}`
    )
    .join(', ');
  const Icon = expanded ? caretDownIcon : caretRightIcon;
  return (
    <>
      <tr
        className="jp-rpc-JobsTable-row jp-rpc-mod-array"
        aria-expanded={expanded}
        onClick={() => model.toggleExpanded(row.key)}
      >
        <td>
          <button
            className="jp-rpc-JobsTable-expand"
            aria-label={
              expanded
                ? trans.__('Hide the tasks of array %1', row.key)
                : trans.__('Show the tasks of array %1', row.key)
            }
            onClick={e => {
              e.stopPropagation();
              model.toggleExpanded(row.key);
            }}
          >
            <Icon.react tag="span" elementSize="small" />
          </button>
          {row.key}
        </td>
        <td>{row.job.name}</td>
        <td>
          <JobStateBadge state={row.state} trans={trans} />
        </td>
        <td>{row.job.partition}</td>
        <td>{formatElapsedLimit(rowElapsed(row), row.job.time_limit)}</td>
        <td className="jp-rpc-JobsTable-note">
          {trans._n('%1 task', '%1 tasks', row.tasks.length)}: {summary}
        </td>
      </tr>
      {expanded &&
        row.tasks.map(task => (
          <JobRow key={task.id} job={task} task {...props} />
        ))}
    </>
  );
}

/**
 * One job's row; click to show its detail.
 */
function JobRow(
  props: IJobsViewProps & {
    job: IJobInfo;
    task?: boolean;
    manager: JobsManager;
  }
): JSX.Element {
  const { job, model, trans, task, clusters, commands, manager } = props;
  const note =
    job.state === 'running' || job.state === 'completing'
      ? job.nodes
      : job.reason;
  const sessions = jobSessions(clusters.serverSettings);
  const session = sessions.find(model.cluster, job.id);
  const may = usePermissions();
  return (
    <SelectableJobRow
      model={model}
      jobId={job.id}
      className={task ? 'jp-rpc-mod-task' : ''}
    >
      <td>{job.id}</td>
      <td>
        {session ? (
          <SessionJobBadge
            session={session}
            trans={trans}
            icon={<launchIcon.react tag="span" elementSize="small" />}
            endDisabled={
              may.write ? undefined : missingPermissionText('write', trans)
            }
            onOpen={s => void commands.execute(OPEN_SESSION, { id: s.id })}
            onEnd={s =>
              void endSession(s.id, clusters.serverSettings)
                .then(() =>
                  Promise.all([sessions.refresh(), manager.refresh()])
                )
                .catch(error => console.warn('jupyter-rpc: End failed:', error))
            }
          />
        ) : (
          job.name
        )}
      </td>
      <td>
        <JobStateBadge state={job.state} raw={job.raw_state} trans={trans} />
      </td>
      <td>{job.partition}</td>
      <td>{formatElapsedLimit(job.elapsed, job.time_limit)}</td>
      <td className="jp-rpc-JobsTable-note" title={note}>
        {note}
      </td>
    </SelectableJobRow>
  );
}
