/**
 * The History tab's rows: ended jobs only, filtered, the latest end first;
 * exit codes and signals as a user reads them.
 */
import type { IJobInfo } from '../api';
import {
  formatCpuUsed,
  formatExit,
  formatMegabytes,
  formatMemoryPeak,
  formatPercent,
  jobUsage
} from '../format';
import { HISTORY_SORT, historyRows, sortHistory } from '../rows';
import { job as pendingJob } from './jobInfo';

/** An ended job (a completed one unless told otherwise). */
function job(fields: Partial<IJobInfo> & { id: string }): IJobInfo {
  return pendingJob({
    state: 'completed',
    submitted: 100,
    started: 110,
    ended: 200,
    elapsed: 90,
    time_limit: 600,
    num_nodes: 1,
    cpus: 1,
    memory_mb: 100,
    exit_code: 0,
    ...fields
  });
}

describe('historyRows', () => {
  const jobs = [
    job({ id: '7', name: 'early', ended: 300 }),
    job({ id: '8', name: 'running', state: 'running', ended: null }),
    job({ id: '9', name: 'late', state: 'failed', exit_code: 3, ended: 900 }),
    job({ id: '10', name: 'pending', state: 'pending', ended: null }),
    job({
      id: '11',
      name: 'no end time',
      state: 'cancelled',
      ended: null,
      started: 50
    })
  ];

  it('keeps ended jobs, latest end first', () => {
    expect(historyRows(jobs, '').map(j => j.id)).toEqual(['9', '7', '11']);
  });

  it('filters like the queue', () => {
    expect(historyRows(jobs, 'FAILED').map(j => j.id)).toEqual(['9']);
    expect(historyRows(jobs, 'early 7').map(j => j.id)).toEqual(['7']);
    expect(historyRows(jobs, 'running')).toEqual([]);
  });
});

describe('sortHistory', () => {
  const jobs = [
    job({ id: '7', name: 'b', exit_code: 0, ended: 300, memory_peak_mb: 50 }),
    job({ id: '9', name: 'a', state: 'failed', exit_code: 3, ended: 900 }),
    job({ id: '10', name: 'c', exit_code: 1, ended: 500, memory_peak_mb: 9 })
  ];
  const ids = (sort: Parameters<typeof sortHistory>[1]): string[] =>
    sortHistory(jobs, sort, jobUsage).map(j => j.id);

  it('keeps the latest end first by default', () => {
    expect(ids(HISTORY_SORT)).toEqual(['9', '10', '7']);
  });

  it('sorts by a column both ways; ids numerically', () => {
    expect(ids({ key: 'exit', ascending: true })).toEqual(['7', '10', '9']);
    expect(ids({ key: 'name', ascending: false })).toEqual(['10', '7', '9']);
    expect(ids({ key: 'id', ascending: true })).toEqual(['7', '9', '10']);
  });

  it('puts unknown values last either way', () => {
    expect(ids({ key: 'memory', ascending: true })).toEqual(['10', '7', '9']);
    expect(ids({ key: 'memory', ascending: false })).toEqual(['7', '10', '9']);
  });
});

describe('formatExit', () => {
  it('shows the exit code, a signal, or nothing', () => {
    expect(formatExit(job({ id: '1', exit_code: 0 }))).toBe('0');
    expect(formatExit(job({ id: '2', exit_code: 3, state: 'failed' }))).toBe(
      '3'
    );
    expect(formatExit(job({ id: '3', exit_code: null, signal: 9 }))).toBe(
      'signal 9'
    );
    expect(
      formatExit(job({ id: '4', exit_code: 0, signal: 15 }), n => `Signal ${n}`)
    ).toBe('Signal 15');
    expect(formatExit(job({ id: '5', exit_code: null }))).toBe('');
  });
});

/** A translation bundle that only fills in the placeholders (English). */
const trans = {
  __: (msg: string, ...args: unknown[]): string =>
    msg.replace(/%(\d+)/g, (_, i) => String(args[Number(i) - 1])),
  _n: (one: string, many: string, n: number, ...args: unknown[]): string =>
    (n === 1 ? one : many).replace(/%(\d+)/g, (_, i) =>
      String([n, ...args][Number(i) - 1])
    )
};

describe('efficiency of ended jobs', () => {
  it('compares CPU time with elapsed × CPUs and the peak with the request', () => {
    const j = job({
      id: '1',
      elapsed: 48,
      cpus: 2,
      cpu_used: 83.5,
      memory_mb: 4096,
      memory_peak_mb: 412.3
    });
    const usage = jobUsage(j);
    expect(usage.cpu).toBeCloseTo(83.5 / 96);
    expect(usage.memory).toBeCloseTo(412.3 / 4096);
    expect(formatPercent(usage.cpu)).toBe('87 %');
    expect(formatCpuUsed(j, trans)).toBe('1:24 · 87 % of 2 CPUs over 48s');
    expect(formatMemoryPeak(j, trans)).toBe('412 MB · 10 % of 4.0 GB');
  });

  it('says nothing it cannot know', () => {
    const unmeasured = job({ id: '2' });
    expect(jobUsage(unmeasured)).toEqual({ cpu: null, memory: null });
    expect(formatCpuUsed(unmeasured, trans)).toBe('');
    expect(formatMemoryPeak(unmeasured, trans)).toBe('');
    // A job that ended at once: CPU time but no elapsed time to compare.
    const instant = job({ id: '3', elapsed: 0, cpu_used: 0.002 });
    expect(jobUsage(instant).cpu).toBeNull();
    expect(formatCpuUsed(instant, trans)).toBe('0s');
    // No memory request: the peak alone.
    const noRequest = job({ id: '4', memory_mb: null, memory_peak_mb: 4.9 });
    expect(formatMemoryPeak(noRequest, trans)).toBe('4.9 MB');
  });

  it('writes small shares and sizes as a person reads them', () => {
    expect(formatPercent(0.001)).toBe('<1 %');
    expect(formatPercent(0)).toBe('0 %');
    expect(formatPercent(1.32)).toBe('132 %');
    expect(formatPercent(null)).toBe('');
    expect(formatMegabytes(3584)).toBe('3.5 GB');
    expect(formatMegabytes(null)).toBe('');
  });
});
