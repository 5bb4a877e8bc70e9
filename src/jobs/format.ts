/**
 * How the jobs panel writes times, exits and resource usage. Durations are
 * Slurm style ({@link formatJobDuration}). Pure functions.
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import { formatJobDuration } from '../shared/duration';
import type { IJobInfo } from './api';

/**
 * `elapsed / limit` (the limit left out when unknown or unlimited).
 */
export function formatElapsedLimit(
  elapsed: number | null,
  limit: number | null
): string {
  const e = formatJobDuration(elapsed ?? 0);
  if (limit === null || limit === undefined || !isFinite(limit) || limit <= 0) {
    return e;
  }
  return `${e} / ${formatJobDuration(limit)}`;
}

/**
 * An epoch time as a local date and time (empty for `null`).
 */
export function formatTime(epoch: number | null | undefined): string {
  if (epoch === null || epoch === undefined || !isFinite(epoch)) {
    return '';
  }
  return new Date(epoch * 1000).toLocaleString();
}

/**
 * How long ago / until an epoch time, relative to `now` (seconds):
 * `in 5 min`, `3 h ago`.
 */
export function formatRelative(epoch: number, now: number): string {
  const delta = epoch - now;
  const abs = Math.abs(delta);
  let text: string;
  if (abs < 60) {
    text = `${Math.round(abs)} s`;
  } else if (abs < 3600) {
    text = `${Math.round(abs / 60)} min`;
  } else if (abs < 86400 * 2) {
    text = `${Math.round(abs / 3600)} h`;
  } else {
    text = `${Math.round(abs / 86400)} d`;
  }
  return delta >= 0 ? `in ${text}` : `${text} ago`;
}

/**
 * A job's exit as shown in the history: `0`, `3`, `signal 9`, or `` when unknown.
 */
export function formatExit(
  job: IJobInfo,
  signalText: (signal: number) => string = n => `signal ${n}`
): string {
  if (job.signal !== null && job.signal !== undefined && job.signal > 0) {
    return signalText(job.signal);
  }
  return job.exit_code === null || job.exit_code === undefined
    ? ''
    : `${job.exit_code}`;
}

/**
 * How well an ended job used what it asked for, as fractions (1 = all of
 * it): CPU time over elapsed time × CPUs, and peak memory over the memory
 * requested. `null` where the scheduler did not measure or the job asked for
 * nothing to compare with.
 */
export interface IJobUsage {
  cpu: number | null;
  memory: number | null;
}

/**
 * The {@link IJobUsage} of a job.
 */
export function jobUsage(job: IJobInfo): IJobUsage {
  const known = (n: number | null | undefined): n is number =>
    n !== null && n !== undefined && isFinite(n);
  const cpu =
    known(job.cpu_used) && known(job.elapsed) && known(job.cpus)
      ? job.elapsed > 0 && job.cpus > 0
        ? job.cpu_used / (job.elapsed * job.cpus)
        : null
      : null;
  const memory =
    known(job.memory_peak_mb) && known(job.memory_mb) && job.memory_mb > 0
      ? job.memory_peak_mb / job.memory_mb
      : null;
  return { cpu, memory };
}

/**
 * A fraction as a whole percentage (`87 %`; `<1 %` for a little above
 * zero); empty for `null`.
 */
export function formatPercent(fraction: number | null): string {
  if (fraction === null || !isFinite(fraction)) {
    return '';
  }
  const percent = Math.round(fraction * 100);
  return percent === 0 && fraction > 0 ? '<1 %' : `${percent} %`;
}

/**
 * A size in MB as `412 MB`, `3.5 GB` (empty for `null`).
 */
export function formatMegabytes(mb: number | null | undefined): string {
  if (mb === null || mb === undefined || !isFinite(mb)) {
    return '';
  }
  if (mb >= 1024) {
    return `${(mb / 1024).toFixed(1)} GB`;
  }
  return mb >= 10 ? `${Math.round(mb)} MB` : `${mb.toFixed(1)} MB`;
}

/**
 * An ended job's CPU time, with its efficiency where it can be computed:
 * `1:23 · 87 % of 2 CPUs over 0:48` (empty if not measured).
 */
export function formatCpuUsed(
  job: IJobInfo,
  trans: Pick<TranslationBundle, '__' | '_n'>
): string {
  if (job.cpu_used === null || job.cpu_used === undefined) {
    return '';
  }
  const used = formatJobDuration(job.cpu_used);
  const { cpu } = jobUsage(job);
  if (cpu === null) {
    return used;
  }
  return trans._n(
    '%2 · %3 of %1 CPU over %4',
    '%2 · %3 of %1 CPUs over %4',
    job.cpus ?? 0,
    used,
    formatPercent(cpu),
    formatJobDuration(job.elapsed)
  );
}

/**
 * An ended job's peak memory, with the share of what it asked for:
 * `412 MB · 10 % of 4.0 GB` (empty if not measured).
 */
export function formatMemoryPeak(
  job: IJobInfo,
  trans: Pick<TranslationBundle, '__'>
): string {
  const peak = formatMegabytes(job.memory_peak_mb);
  const { memory } = jobUsage(job);
  if (!peak || memory === null) {
    return peak;
  }
  return trans.__(
    '%1 · %2 of %3',
    peak,
    formatPercent(memory),
    formatMegabytes(job.memory_mb)
  );
}
