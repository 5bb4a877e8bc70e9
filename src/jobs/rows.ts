/**
 * The rows of the jobs table and of the history: array tasks grouped under
 * their array, sorted, filtered. Pure functions.
 */
import type { IJobInfo } from './api';
import { isActive } from './states';
import type { JobState } from './states';

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
 * The sortable columns of the history.
 */
export type HistorySortKey =
  'id' | 'name' | 'state' | 'exit' | 'elapsed' | 'cpu' | 'memory' | 'ended';

/**
 * A sort order of the history.
 */
export interface IHistorySort {
  key: HistorySortKey;
  ascending: boolean;
}

/**
 * The history's default order: the latest end first.
 */
export const HISTORY_SORT: IHistorySort = { key: 'ended', ascending: false };

/**
 * Sort history rows by a column (`usage` gives a job's CPU and memory shares);
 * unknown values last, ties by id, newest first.
 */
export function sortHistory(
  jobs: ReadonlyArray<IJobInfo>,
  sort: IHistorySort,
  usage: (job: IJobInfo) => { cpu: number | null; memory: number | null }
): IJobInfo[] {
  const value = (j: IJobInfo): number | string | null => {
    switch (sort.key) {
      case 'id':
        return null;
      case 'name':
        return j.name;
      case 'state':
        return STATE_SORT[j.state] ?? 99;
      case 'exit':
        return j.exit_code;
      case 'elapsed':
        return j.elapsed;
      case 'cpu':
        return usage(j).cpu;
      case 'memory':
        return j.memory_peak_mb;
      case 'ended':
        return j.ended ?? j.started ?? j.submitted;
    }
    return null;
  };
  const sign = sort.ascending ? 1 : -1;
  return [...jobs].sort((a, b) => {
    if (sort.key === 'id') {
      return sign * compareIds(a.id, b.id);
    }
    const x = value(a);
    const y = value(b);
    let c = 0;
    if (x === null || y === null) {
      c = x === y ? 0 : x === null ? 1 : -1;
      return c !== 0 ? c : -compareIds(a.id, b.id);
    }
    c =
      typeof x === 'string' || typeof y === 'string'
        ? `${x}`.localeCompare(`${y}`)
        : x - y;
    return c !== 0 ? sign * c : -compareIds(a.id, b.id);
  });
}
