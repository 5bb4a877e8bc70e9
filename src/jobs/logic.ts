/**
 * Pure logic of the jobs browser: grouping array tasks, sorting, filtering,
 * formatting times, and noticing jobs that ended between two polls.
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import type { IJobInfo, IJobSpec } from '../clusters/api';
import { isActive } from '../clusters/states';
import type { JobState } from '../clusters/states';

/**
 * A row of the jobs table: one job, or an array job with its tasks.
 */
export interface IJobRow {
  /** The job id, or the array's id. */
  key: string;
  /** The job itself, or (for an array) its first task as a representative. */
  job: IJobInfo;
  /** The tasks of an array job (empty for a plain job). */
  tasks: IJobInfo[];
  /** The state an array shows: its most "alive" task's. */
  state: JobState;
}

/**
 * The order in which an array's state is chosen: the first one any task has.
 */
const STATE_PRIORITY: JobState[] = [
  'running',
  'completing',
  'suspended',
  'pending',
  'held',
  'failed',
  'timeout',
  'cancelled',
  'unknown',
  'completed'
];

/**
 * The state an array job shows.
 */
export function arrayState(tasks: ReadonlyArray<IJobInfo>): JobState {
  for (const state of STATE_PRIORITY) {
    if (tasks.some(t => t.state === state)) {
      return state;
    }
  }
  return 'unknown';
}

/**
 * Count tasks by state (`{running: 2, pending: 1}`).
 */
export function countStates(
  tasks: ReadonlyArray<IJobInfo>
): Partial<Record<JobState, number>> {
  const counts: Partial<Record<JobState, number>> = {};
  for (const t of tasks) {
    counts[t.state] = (counts[t.state] ?? 0) + 1;
  }
  return counts;
}

/**
 * Numeric order of task ids: `2` before `10`, `[5-9]` (not started) last.
 */
function taskOrder(a: IJobInfo, b: IJobInfo): number {
  const na = parseInt(a.array_task_id, 10);
  const nb = parseInt(b.array_task_id, 10);
  const pa = a.array_task_id.startsWith('[') || isNaN(na);
  const pb = b.array_task_id.startsWith('[') || isNaN(nb);
  if (pa !== pb) {
    return pa ? 1 : -1;
  }
  if (!pa && na !== nb) {
    return na - nb;
  }
  return a.array_task_id.localeCompare(b.array_task_id);
}

/**
 * Group array tasks under their array id; plain jobs stay rows of their own.
 * The rows keep the order of the first appearance of each job or array.
 */
export function groupJobs(jobs: ReadonlyArray<IJobInfo>): IJobRow[] {
  const rows: IJobRow[] = [];
  const arrays = new Map<string, IJobRow>();
  for (const job of jobs) {
    const arrayId = job.array_job_id;
    if (!arrayId) {
      rows.push({ key: job.id, job, tasks: [], state: job.state });
      continue;
    }
    let row = arrays.get(arrayId);
    if (!row) {
      row = { key: arrayId, job, tasks: [], state: job.state };
      arrays.set(arrayId, row);
      rows.push(row);
    }
    row.tasks.push(job);
  }
  for (const row of arrays.values()) {
    row.tasks.sort(taskOrder);
    row.job = row.tasks[0];
    row.state = arrayState(row.tasks);
  }
  return rows;
}

/**
 * The sortable columns of the table.
 */
export type SortKey =
  'id' | 'name' | 'state' | 'partition' | 'elapsed' | 'submitted' | 'user';

/**
 * A sort order.
 */
export interface ISort {
  key: SortKey;
  ascending: boolean;
}

/**
 * Compare job ids numerically where they are numbers (`99` before `100`).
 */
export function compareIds(a: string, b: string): number {
  const pa = a.split(/[_.]/);
  const pb = b.split(/[_.]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '';
    const y = pb[i] ?? '';
    const nx = /^\d+$/.test(x) ? Number(x) : NaN;
    const ny = /^\d+$/.test(y) ? Number(y) : NaN;
    let c: number;
    if (!isNaN(nx) && !isNaN(ny)) {
      c = nx - ny;
    } else {
      c = x.localeCompare(y);
    }
    if (c !== 0) {
      return c;
    }
  }
  return 0;
}

/**
 * The order of states when sorting by state: active first.
 */
const STATE_SORT: Record<JobState, number> = {
  running: 0,
  completing: 1,
  suspended: 2,
  pending: 3,
  held: 4,
  failed: 5,
  timeout: 6,
  cancelled: 7,
  completed: 8,
  unknown: 9
};

function compareRows(a: IJobRow, b: IJobRow, key: SortKey): number {
  const num = (x: number | null | undefined): number =>
    x === null || x === undefined ? -Infinity : x;
  switch (key) {
    case 'id':
      return compareIds(a.key, b.key);
    case 'name':
      return a.job.name.localeCompare(b.job.name);
    case 'state':
      return (STATE_SORT[a.state] ?? 99) - (STATE_SORT[b.state] ?? 99);
    case 'partition':
      return a.job.partition.localeCompare(b.job.partition);
    case 'elapsed':
      return num(rowElapsed(a)) - num(rowElapsed(b));
    case 'submitted':
      return num(a.job.submitted) - num(b.job.submitted);
    case 'user':
      return a.job.user.localeCompare(b.job.user);
  }
  return 0;
}

/**
 * The elapsed time a row shows (an array: its longest task).
 */
export function rowElapsed(row: IJobRow): number | null {
  if (!row.tasks.length) {
    return row.job.elapsed;
  }
  let best: number | null = null;
  for (const t of row.tasks) {
    if (t.elapsed !== null && (best === null || t.elapsed > best)) {
      best = t.elapsed;
    }
  }
  return best;
}

/**
 * Sort rows (a stable sort; ties by id, newest first).
 */
export function sortRows(rows: ReadonlyArray<IJobRow>, sort: ISort): IJobRow[] {
  const sign = sort.ascending ? 1 : -1;
  return [...rows].sort((a, b) => {
    const c = compareRows(a, b, sort.key);
    return c !== 0 ? sign * c : -compareIds(a.key, b.key);
  });
}

/**
 * Whether a job matches a filter text: every word must occur in its id,
 * name, state, partition, user, node list or reason (case-insensitive).
 */
export function matchesFilter(job: IJobInfo, filter: string): boolean {
  const words = filter.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) {
    return true;
  }
  const hay = [
    job.id,
    job.name,
    job.state,
    job.raw_state,
    job.partition,
    job.user,
    job.nodes,
    job.reason,
    job.account
  ]
    .join(' ')
    .toLowerCase();
  return words.every(w => hay.includes(w));
}

/**
 * Keep the rows whose job (or one of whose tasks) matches; an array keeps
 * only its matching tasks unless its id or name matches.
 */
export function filterRows(
  rows: ReadonlyArray<IJobRow>,
  filter: string
): IJobRow[] {
  if (!filter.trim()) {
    return [...rows];
  }
  const out: IJobRow[] = [];
  for (const row of rows) {
    if (!row.tasks.length) {
      if (matchesFilter(row.job, filter)) {
        out.push(row);
      }
      continue;
    }
    const tasks = row.tasks.filter(t => matchesFilter(t, filter));
    if (tasks.length) {
      out.push({ ...row, tasks, state: arrayState(tasks), job: tasks[0] });
    }
  }
  return out;
}

/**
 * A duration in seconds as `45s`, `12:05` (m:ss), `3:02:01` (h:mm:ss) or
 * `2-03:00:00` (days, as Slurm writes them).
 */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) {
    return '';
  }
  const total = Math.max(0, Math.round(seconds));
  if (total < 60) {
    return `${total}s`;
  }
  const days = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number): string => `${n}`.padStart(2, '0');
  if (days > 0) {
    return `${days}-${pad(h)}:${pad(m)}:${pad(s)}`;
  }
  if (h > 0) {
    return `${h}:${pad(m)}:${pad(s)}`;
  }
  return `${m}:${pad(s)}`;
}

/**
 * `elapsed / limit` (the limit left out when unknown or unlimited).
 */
export function formatElapsedLimit(
  elapsed: number | null,
  limit: number | null
): string {
  const e = formatDuration(elapsed ?? 0);
  if (limit === null || limit === undefined || !isFinite(limit) || limit <= 0) {
    return e;
  }
  return `${e} / ${formatDuration(limit)}`;
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
 * A job that left an active state between two polls.
 */
export interface IJobEnd {
  /** The job as last seen (its final state, or as fetched). */
  job: IJobInfo;
  /** The state it had before. */
  previous: JobState;
}

/**
 * The user's jobs that were active in `before` and are not in `after`.
 *
 * Jobs missing from `after` are returned in `missing` (the caller may
 * fetch their final state); pending array placeholders (`123_[5-9]`) that
 * vanish because their tasks started are not.
 */
export function endedJobs(
  before: ReadonlyArray<IJobInfo>,
  after: ReadonlyArray<IJobInfo>,
  user: string | null
): { ended: IJobEnd[]; missing: IJobInfo[] } {
  const now = new Map(after.map(j => [j.id, j]));
  const ended: IJobEnd[] = [];
  const missing: IJobInfo[] = [];
  for (const old of before) {
    if (!isActive(old.state) || (user && old.user && old.user !== user)) {
      continue;
    }
    const next = now.get(old.id);
    if (next) {
      if (!isActive(next.state)) {
        ended.push({ job: next, previous: old.state });
      }
    } else if (!old.id.includes('[')) {
      missing.push(old);
    }
  }
  return { ended, missing };
}

/**
 * One notification: a single job, or several tasks of one array.
 */
export interface IEndNotice {
  /** The job to show ("Show" opens it): the job, or the array's first task. */
  job: IJobInfo;
  /** The array id when several tasks ended together. */
  arrayId: string;
  /** The ended jobs this notice covers. */
  jobs: IJobInfo[];
  /** `success` when all completed, `error` when any failed / timed out, else `info`. */
  kind: 'success' | 'error' | 'info';
}

/**
 * Fold ended jobs into notices: one per job, one per array.
 */
export function endNotices(ends: ReadonlyArray<IJobEnd>): IEndNotice[] {
  const notices: IEndNotice[] = [];
  const arrays = new Map<string, IEndNotice>();
  for (const { job } of ends) {
    if (job.array_job_id) {
      const existing = arrays.get(job.array_job_id);
      if (existing) {
        existing.jobs.push(job);
        continue;
      }
      const notice: IEndNotice = {
        job,
        arrayId: job.array_job_id,
        jobs: [job],
        kind: 'info'
      };
      arrays.set(job.array_job_id, notice);
      notices.push(notice);
    } else {
      notices.push({ job, arrayId: '', jobs: [job], kind: 'info' });
    }
  }
  for (const n of notices) {
    if (n.jobs.every(j => j.state === 'completed')) {
      n.kind = 'success';
    } else if (
      n.jobs.some(j => j.state === 'failed' || j.state === 'timeout')
    ) {
      n.kind = 'error';
    }
    if (n.arrayId && n.jobs.length === 1) {
      n.arrayId = '';
    }
  }
  return notices;
}

/**
 * Drop empty values so the scheduler's defaults apply.
 */
export function cleanSpec(data: Record<string, unknown>): IJobSpec {
  const spec: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    if (value === undefined || value === null || value === '') {
      continue;
    }
    if (
      typeof value === 'object' &&
      !Array.isArray(value) &&
      Object.keys(value as object).length === 0
    ) {
      continue;
    }
    if (Array.isArray(value) && value.length === 0) {
      continue;
    }
    spec[key] = value;
  }
  return spec as IJobSpec;
}

/**
 * The ended jobs of a history answer that match the filter, the latest end
 * first (jobs still active belong to the queue view).
 */
export function historyRows(
  jobs: ReadonlyArray<IJobInfo>,
  filter: string
): IJobInfo[] {
  const when = (j: IJobInfo): number =>
    j.ended ?? j.started ?? j.submitted ?? 0;
  return jobs
    .filter(j => !isActive(j.state) && matchesFilter(j, filter))
    .sort((a, b) => when(b) - when(a) || compareIds(b.id, a.id));
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
  const used = formatDuration(job.cpu_used);
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
    formatDuration(job.elapsed)
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
