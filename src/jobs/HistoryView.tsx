import type { TranslationBundle } from '@jupyterlab/translation';
import { refreshIcon, ToolbarButtonComponent } from '@jupyterlab/ui-components';
import React, { useEffect, useMemo, useState } from 'react';
import { errorText } from '../shared/errors';
import { formatJobDuration } from '../shared/duration';
import type { IJobInfo } from './api';
import {
  formatCpuUsed,
  formatExit,
  formatMegabytes,
  formatMemoryPeak,
  formatPercent,
  formatTime,
  jobUsage
} from './format';
import { historyRows, sortHistory } from './rows';
import type { HistorySortKey } from './rows';
import type { JobsManager } from './manager';
import type { JobsPanelModel } from './model';
import { SelectableJobRow } from './JobRow';
import { JobStateBadge } from './StateBadge';
import { lacks, lackText } from './capabilities';

/**
 * The periods the history can cover (days).
 */
export const HISTORY_DAYS = [1, 7, 30];

/**
 * Properties of {@link HistoryList}.
 */
export interface IHistoryListProps {
  model: JobsPanelModel;
  manager: JobsManager;
  trans: TranslationBundle;
}

/**
 * The user's ended jobs of the last days, from the scheduler's accounting
 * (`sacct` on Slurm): state, exit code, elapsed time, how much of its CPUs
 * and memory it used, and end time. Fetched
 * when shown, when the period changes, when one of the user's jobs ends and
 * on Refresh (never polled: accounting queries are not cheap).
 */
export function HistoryList(props: IHistoryListProps): JSX.Element {
  const { manager, trans } = props;
  if (lacks(manager.clusterInfo, 'history')) {
    return (
      <div className="jp-rpc-muted jp-rpc-Jobs-empty jp-rpc-mod-unsupported">
        {lackText(manager.clusterInfo, 'history', trans)}
      </div>
    );
  }
  return <HistoryRows {...props} />;
}

/**
 * The history's table (for a cluster that keeps one).
 */
function HistoryRows(props: IHistoryListProps): JSX.Element {
  const { model, manager, trans } = props;
  const days = model.historyDays;
  const [jobs, setJobs] = useState<IJobInfo[]>([]);
  const [status, setStatus] = useState<'loading' | 'ready' | 'error'>(
    'loading'
  );
  const [error, setError] = useState('');
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    let cancelled = false;
    setStatus(s => (s === 'ready' ? s : 'loading'));
    manager
      .history(days)
      .then(list => {
        if (!cancelled) {
          setJobs(list);
          setStatus('ready');
          setError('');
        }
      })
      .catch(reason => {
        if (!cancelled) {
          setStatus('error');
          setError(errorText(reason));
        }
      });
    return () => {
      cancelled = true;
    };
  }, [manager, days, generation]);

  // A job that ends belongs to the history now.
  useEffect(() => {
    const reload = (): void => setGeneration(g => g + 1);
    manager.ended.connect(reload);
    return () => {
      manager.ended.disconnect(reload);
    };
  }, [manager]);

  const sort = model.historySort;
  const rows = useMemo(
    () => sortHistory(historyRows(jobs, model.filter), sort, jobUsage),
    [jobs, model.filter, sort]
  );
  const onSort = (key: HistorySortKey): void => {
    model.historySort =
      sort.key === key
        ? { key, ascending: !sort.ascending }
        : { key, ascending: key === 'name' || key === 'exit' };
  };
  // A column's header: a button that sorts by it (again: the other way).
  const header = (
    key: HistorySortKey,
    label: string,
    title?: string
  ): JSX.Element => (
    <th
      scope="col"
      title={title}
      aria-sort={
        sort.key === key
          ? sort.ascending
            ? 'ascending'
            : 'descending'
          : undefined
      }
    >
      <button
        className="jp-rpc-JobsTable-sort"
        onClick={() => onSort(key)}
        title={trans.__('Sort by %1', label)}
      >
        {label}
        {sort.key === key && (sort.ascending ? ' ▲' : ' ▼')}
      </button>
    </th>
  );
  const signalText = (n: number): string => trans.__('signal %1', n);

  return (
    <div className="jp-rpc-Jobs-list jp-rpc-JobsHistory">
      <div className="jp-rpc-Jobs-toolbar">
        <label className="jp-rpc-JobsHistory-days">
          <span className="jp-rpc-visually-hidden">{trans.__('Period')}</span>
          <select
            className="jp-mod-styled"
            aria-label={trans.__('Period')}
            value={`${days}`}
            onChange={e => (model.historyDays = Number(e.target.value))}
          >
            {HISTORY_DAYS.map(n => (
              <option key={n} value={`${n}`}>
                {trans._n('Last day', 'Last %1 days', n)}
              </option>
            ))}
          </select>
        </label>
        <ToolbarButtonComponent
          icon={refreshIcon}
          tooltip={trans.__('Refresh the history')}
          aria-label={trans.__('Refresh the history')}
          onClick={() => setGeneration(g => g + 1)}
        />
        <input
          type="search"
          className="jp-mod-styled jp-rpc-Jobs-filter"
          placeholder={trans.__('Filter')}
          aria-label={trans.__('Filter jobs')}
          value={model.filter}
          onChange={e => (model.filter = e.target.value)}
        />
      </div>
      {status === 'error' && (
        <div className="jp-rpc-Jobs-error" role="alert">
          {error}
        </div>
      )}
      {status === 'loading' && (
        <div className="jp-rpc-muted">{trans.__('Loading the history…')}</div>
      )}
      {status === 'ready' && rows.length === 0 && (
        <div className="jp-rpc-muted jp-rpc-Jobs-empty">
          {model.filter
            ? trans.__('No job matches the filter.')
            : trans._n(
                'No job ended in the last day.',
                'No job ended in the last %1 days.',
                days
              )}
        </div>
      )}
      {rows.length > 0 && (
        <table className="jp-rpc-JobsTable" aria-label={trans.__('Ended jobs')}>
          <thead>
            <tr>
              {header('id', trans.__('ID'))}
              {header('name', trans.__('Name'))}
              {header('state', trans.__('State'))}
              {header('exit', trans.__('Exit'))}
              {header('elapsed', trans.__('Elapsed'))}
              {header(
                'cpu',
                trans.__('CPU'),
                trans.__('CPU time used of elapsed time × CPUs')
              )}
              {header(
                'memory',
                trans.__('Memory'),
                trans.__('Peak memory, and its share of the request')
              )}
              {header('ended', trans.__('Ended'))}
            </tr>
          </thead>
          <tbody>
            {rows.map(job => {
              const usage = jobUsage(job);
              return (
                <SelectableJobRow key={job.id} model={model} jobId={job.id}>
                  <td>{job.id}</td>
                  <td>{job.name}</td>
                  <td>
                    <JobStateBadge
                      state={job.state}
                      raw={job.raw_state}
                      trans={trans}
                    />
                  </td>
                  <td className="jp-rpc-JobsHistory-exit">
                    {formatExit(job, signalText)}
                  </td>
                  <td>{formatJobDuration(job.elapsed)}</td>
                  <td
                    className="jp-rpc-JobsHistory-cpu"
                    title={formatCpuUsed(job, trans)}
                  >
                    {formatPercent(usage.cpu)}
                  </td>
                  <td
                    className="jp-rpc-JobsHistory-memory"
                    title={formatMemoryPeak(job, trans)}
                  >
                    {formatMegabytes(job.memory_peak_mb)}
                    {usage.memory !== null && (
                      <span className="jp-rpc-muted">
                        {' '}
                        {formatPercent(usage.memory)}
                      </span>
                    )}
                  </td>
                  <td className="jp-rpc-JobsHistory-ended">
                    {formatTime(job.ended)}
                  </td>
                </SelectableJobRow>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}
