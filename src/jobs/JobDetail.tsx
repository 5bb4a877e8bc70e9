import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import {
  Button,
  closeIcon,
  ToolbarButtonComponent
} from '@jupyterlab/ui-components';
import type { CommandRegistry } from '@lumino/commands';
import React, { useEffect, useState } from 'react';
import { errorText } from '../shared/errors';
import { formatJobDuration } from '../shared/duration';
import { missingPermissionText, usePermissions } from '../shared/permissions';
import { SUBMIT_JOB } from './commands';
import { isActive } from './states';
import type { IJobInfo, OutputStream } from './api';
import { useOutputTail } from './hooks';
import {
  formatCpuUsed,
  formatElapsedLimit,
  formatMemoryPeak,
  formatTime
} from './format';
import type { JobsManager } from './manager';
import type { JobsPanelModel } from './model';
import { JobStateBadge } from './StateBadge';
import { jobFolder, jobTerminalEntries, OPEN_TERMINAL } from './terminal';
import { lacks, lackTitle } from './capabilities';

/**
 * The command another plugin provides to open a folder of a cluster.
 */
export const OPEN_REMOTE_FOLDER = 'jupyter-rpc:open-remote-folder';

/**
 * Properties of {@link JobDetail}.
 */
export interface IJobDetailProps {
  manager: JobsManager;
  model: JobsPanelModel;
  jobId: string;
  commands: CommandRegistry;
  trans: TranslationBundle;
}

/**
 * One job's detail: resources, times, paths, reason, exit code, the live
 * output, and the actions.
 */
export function JobDetail(props: IJobDetailProps): JSX.Element {
  const { manager, model, jobId, commands, trans } = props;
  const listed = manager.job(jobId);
  const [detail, setDetail] = useState<IJobInfo | null>(null);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const [stream, setStream] = useState<OutputStream>('stdout');
  const may = usePermissions();
  // Why a button is disabled: the permission it needs is missing.
  const noWrite = may.write ? undefined : missingPermissionText('write', trans);
  const noExecute = may.execute
    ? undefined
    : missingPermissionText('execute', trans);

  // Fetch the detail on select, and again when the listed state changes.
  const listedState = listed?.state;
  useEffect(() => {
    let cancelled = false;
    manager
      .getJob(jobId)
      .then(job => {
        if (!cancelled) {
          setDetail(job);
          setError('');
        }
      })
      .catch(reason => {
        if (!cancelled) {
          setError(errorText(reason));
        }
      });
    return () => {
      cancelled = true;
    };
  }, [manager, jobId, listedState]);
  useEffect(() => setStream('stdout'), [jobId]);

  const job: IJobInfo | null =
    detail && listed
      ? { ...detail, ...pickLive(listed) }
      : (detail ?? listed ?? null);
  const active = job ? isActive(job.state) : false;
  const tail = useOutputTail(manager, jobId, stream, active, model.visible);

  if (!job) {
    return (
      <div className="jp-rpc-JobDetail">
        {error ? (
          <div className="jp-rpc-JobDetail-error" role="alert">
            {error}
          </div>
        ) : (
          <div className="jp-rpc-muted">
            {trans.__('Loading job %1…', jobId)}
          </div>
        )}
      </div>
    );
  }

  const run = async (
    what: string,
    fn: () => Promise<IJobInfo>,
    select = false
  ): Promise<void> => {
    setBusy(true);
    try {
      const result = await fn();
      if (select) {
        model.selected = result.id;
        Notification.success(trans.__('Submitted job %1.', result.id), {
          autoClose: 4000
        });
      } else if (result.id === jobId) {
        setDetail(result);
      }
    } catch (reason) {
      Notification.error(trans.__('%1 failed: %2', what, errorText(reason)));
    } finally {
      setBusy(false);
    }
  };

  const onCancel = async (): Promise<void> => {
    if (await confirmCancel(job, trans)) {
      await run(trans.__('Cancel'), () => manager.cancel(job.id));
    }
  };

  const folder = jobFolder(job);
  const canOpenFolder = !!folder && commands.hasCommand(OPEN_REMOTE_FOLDER);
  const terminals = commands.hasCommand(OPEN_TERMINAL)
    ? jobTerminalEntries(manager.cluster, manager.clusterInfo, job)
    : [];
  const separateStderr = !!job.stderr && job.stderr !== job.stdout;

  const rows: Array<[string, string]> = [
    [trans.__('Name'), job.name],
    [trans.__('User'), job.user],
    [trans.__('Partition'), job.partition],
    [trans.__('Account'), job.account],
    [trans.__('QOS'), job.qos],
    [trans.__('Reason'), job.reason],
    [
      trans.__('Exit code'),
      job.exit_code === null
        ? ''
        : job.signal
          ? trans.__('%1 (signal %2)', job.exit_code, job.signal)
          : `${job.exit_code}`
    ],
    [trans.__('Submitted'), formatTime(job.submitted)],
    [
      trans.__('Expected start'),
      job.state === 'pending' ? formatTime(job.expected_start) : ''
    ],
    [trans.__('Started'), formatTime(job.started)],
    [trans.__('Ended'), formatTime(job.ended)],
    [
      trans.__('Elapsed / limit'),
      formatElapsedLimit(job.elapsed, job.time_limit)
    ],
    [
      trans.__('Nodes'),
      [job.num_nodes ?? '', job.nodes].filter(Boolean).join(': ')
    ],
    [trans.__('CPUs'), job.cpus === null ? '' : `${job.cpus}`],
    [trans.__('Memory'), job.memory_mb === null ? '' : `${job.memory_mb} MB`],
    [trans.__('CPU used'), formatCpuUsed(job, trans)],
    [trans.__('Memory peak'), formatMemoryPeak(job, trans)],
    [trans.__('GPUs'), job.gpus],
    [trans.__('Working directory'), job.workdir],
    [trans.__('Standard output'), job.stdout],
    [trans.__('Standard error'), separateStderr ? job.stderr : ''],
    [trans.__('Command'), job.command]
  ];

  return (
    <section
      className="jp-rpc-JobDetail"
      aria-label={trans.__('Job %1', job.id)}
      tabIndex={-1}
    >
      <div className="jp-rpc-JobDetail-header">
        <span className="jp-rpc-JobDetail-title">
          {trans.__('Job %1', job.id)}
        </span>
        <JobStateBadge state={job.state} raw={job.raw_state} trans={trans} />
        <ToolbarButtonComponent
          icon={closeIcon}
          tooltip={trans.__('Close the job detail')}
          aria-label={trans.__('Close the job detail')}
          onClick={() => (model.selected = '')}
        />
      </div>
      {error && (
        <div className="jp-rpc-JobDetail-error" role="alert">
          {error}
        </div>
      )}
      <div className="jp-rpc-JobDetail-actions">
        {active && (
          <Button
            small
            className="jp-mod-styled jp-mod-warn"
            disabled={busy || !may.write}
            title={noWrite}
            onClick={() => void onCancel()}
          >
            {trans.__('Cancel')}
          </Button>
        )}
        {job.state === 'pending' && (
          <Button
            small
            className="jp-mod-styled"
            disabled={busy || !may.write || lacks(manager.clusterInfo, 'hold')}
            title={lackTitle(manager.clusterInfo, 'hold', trans, noWrite)}
            onClick={() =>
              void run(trans.__('Hold'), () => manager.hold(job.id))
            }
          >
            {trans.__('Hold')}
          </Button>
        )}
        {job.state === 'held' && (
          <Button
            small
            className="jp-mod-styled"
            disabled={busy || !may.write || lacks(manager.clusterInfo, 'hold')}
            title={lackTitle(manager.clusterInfo, 'hold', trans, noWrite)}
            onClick={() =>
              void run(trans.__('Release'), () => manager.release(job.id))
            }
          >
            {trans.__('Release')}
          </Button>
        )}
        {!active && (
          <Button
            small
            className="jp-mod-styled"
            disabled={busy || !may.execute}
            title={noExecute}
            onClick={() =>
              // The submit dialog, filled with this job's script and resources:
              // the user sees (and may change) them before anything is submitted.
              void commands.execute(SUBMIT_JOB, {
                cluster: manager.cluster,
                job: job.id
              })
            }
          >
            {trans.__('Resubmit…')}
          </Button>
        )}
        {canOpenFolder && (
          <Button
            small
            className="jp-mod-styled"
            onClick={() =>
              void commands.execute(OPEN_REMOTE_FOLDER, {
                cluster: manager.cluster,
                path: folder
              })
            }
          >
            {trans.__('Open folder')}
          </Button>
        )}
        {terminals.map(entry => (
          <Button
            key={entry.kind}
            small
            className="jp-mod-styled"
            disabled={!may.execute}
            title={
              noExecute ??
              (entry.kind === 'folder'
                ? trans.__('A terminal on %1 in %2', manager.cluster, folder)
                : trans.__(
                    'A shell inside job %1, on its node (its CPUs and memory)',
                    job.id
                  ))
            }
            onClick={() => void commands.execute(OPEN_TERMINAL, entry.args)}
          >
            {entry.kind === 'folder'
              ? trans.__('Terminal in folder')
              : trans.__('Shell on node')}
          </Button>
        ))}
      </div>
      <dl className="jp-rpc-JobDetail-facts">
        {rows
          .filter(([, value]) => value !== '')
          .map(([label, value]) => (
            <React.Fragment key={label}>
              <dt>{label}</dt>
              <dd>{value}</dd>
            </React.Fragment>
          ))}
      </dl>
      <div className="jp-rpc-JobOutput">
        <div className="jp-rpc-JobOutput-header" role="tablist">
          <button
            role="tab"
            aria-selected={stream === 'stdout'}
            className={`jp-rpc-JobOutput-tab${stream === 'stdout' ? ' jp-mod-active' : ''}`}
            onClick={() => setStream('stdout')}
          >
            {separateStderr
              ? trans.__('Output')
              : trans.__('Output and errors')}
          </button>
          {separateStderr && (
            <button
              role="tab"
              aria-selected={stream === 'stderr'}
              className={`jp-rpc-JobOutput-tab${stream === 'stderr' ? ' jp-mod-active' : ''}`}
              onClick={() => setStream('stderr')}
            >
              {trans.__('Errors')}
            </button>
          )}
          <span className="jp-rpc-muted">
            {active && model.visible ? trans.__('following') : ''}
          </span>
        </div>
        {tail.error && (
          <div className="jp-rpc-JobDetail-error" role="alert">
            {tail.error}
          </div>
        )}
        {!tail.exists && !tail.text && (
          <div className="jp-rpc-muted">
            {active
              ? trans.__('No output yet.')
              : trans.__('The output file does not exist (any more).')}
          </div>
        )}
        {tail.truncated && (
          <div className="jp-rpc-muted">
            {trans.__('Showing the last part of the output.')}
          </div>
        )}
        <pre
          className="jp-rpc-JobOutput-text"
          role="region"
          aria-label={trans.__('Output of job %1', job.id)}
          tabIndex={0}
        >
          {tail.text}
        </pre>
      </div>
      {job.time_limit !== null && job.elapsed !== null && active && (
        <div className="jp-rpc-muted">
          {trans.__(
            'Time left: %1',
            formatJobDuration(Math.max(0, job.time_limit - job.elapsed))
          )}
        </div>
      )}
    </section>
  );
}

/**
 * Ask before cancelling a job (the detail's Cancel, the Jobs tab's Delete key).
 */
export async function confirmCancel(
  job: Pick<IJobInfo, 'id' | 'name'>,
  trans: TranslationBundle
): Promise<boolean> {
  const answer = await showDialog({
    title: trans.__('Cancel job?'),
    body: trans.__(
      'Cancel job %1 (%2)? This cannot be undone.',
      job.id,
      job.name
    ),
    buttons: [
      Dialog.cancelButton({ label: trans.__('Keep running') }),
      Dialog.warnButton({ label: trans.__('Cancel job') })
    ]
  });
  return answer.button.accept;
}

/**
 * The fields of a listed job that are newer than a fetched detail.
 */
function pickLive(job: IJobInfo): Partial<IJobInfo> {
  const live: Partial<IJobInfo> = {
    state: job.state,
    raw_state: job.raw_state,
    elapsed: job.elapsed
  };
  if (job.reason) {
    live.reason = job.reason;
  }
  if (job.nodes) {
    live.nodes = job.nodes;
  }
  if (job.started !== null) {
    live.started = job.started;
  }
  return live;
}
