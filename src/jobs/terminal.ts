/**
 * The Jobs panel's terminal entries (issue 19, docs/terminals.md): a terminal
 * in a job's folder for every job that has one, and for a running Slurm job on
 * an SSH cluster a shell on the job's node (`srun --jobid=ID --overlap --pty`,
 * run by the server). Both run the terminals' open command.
 */
import type { IJobInfo } from './api';

/**
 * The terminals plugin's command: `{cluster, cwd}` (cwd: a drive path, or an
 * absolute path on the cluster inside its roots) or `{cluster, job}`.
 */
export const OPEN_TERMINAL = 'jupyter-rpc:open-terminal';

/**
 * A job id the server's `job` field takes (an array task `12_3` too).
 */
const SHELL_JOB_ID = /^[0-9]{1,20}(_[0-9]{1,10})?$/;

/**
 * What the entries need to know of the job's cluster.
 */
export interface IJobCluster {
  /** `local` or `ssh`. */
  kind?: string;
  /** `slurm`, `local`, ... */
  scheduler?: string;
}

/**
 * One terminal entry of a job: its kind and the open command's arguments.
 */
export interface IJobTerminalEntry {
  kind: 'folder' | 'node';
  args: { cluster: string; cwd?: string; job?: string };
}

/**
 * The parent folder of a path.
 */
function dirname(path: string): string {
  const i = path.lastIndexOf('/');
  return i > 0 ? path.slice(0, i) : i === 0 ? '/' : '';
}

/**
 * A job's folder on the cluster: its working directory, else its output's.
 */
export function jobFolder(job: IJobInfo): string {
  return job.workdir || dirname(job.stdout);
}

/**
 * The terminal entries of `job` on `cluster`: the folder's for every job with
 * an absolute folder, the node's for a running Slurm job over SSH.
 */
export function jobTerminalEntries(
  cluster: string,
  info: IJobCluster | undefined,
  job: IJobInfo
): IJobTerminalEntry[] {
  const entries: IJobTerminalEntry[] = [];
  const folder = jobFolder(job);
  if (folder.startsWith('/')) {
    entries.push({ kind: 'folder', args: { cluster, cwd: folder } });
  }
  if (
    job.state === 'running' &&
    info?.kind === 'ssh' &&
    info.scheduler === 'slurm' &&
    SHELL_JOB_ID.test(job.id)
  ) {
    entries.push({ kind: 'node', args: { cluster, job: job.id } });
  }
  return entries;
}
