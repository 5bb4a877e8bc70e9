/**
 * The History tab's rows: ended jobs only, filtered, the latest end first;
 * exit codes and signals as a user reads them.
 */
import type { IJobInfo } from '../clusters/api';
import { formatExit, historyRows } from '../jobs/logic';

function job(fields: Partial<IJobInfo> & { id: string }): IJobInfo {
  return {
    name: 'sim',
    state: 'completed',
    raw_state: '',
    user: 'hpcuser',
    partition: 'debug',
    reason: '',
    submitted: 100,
    started: 110,
    ended: 200,
    expected_start: null,
    elapsed: 90,
    time_limit: 600,
    nodes: '',
    num_nodes: 1,
    cpus: 1,
    memory_mb: 100,
    gpus: '',
    account: '',
    qos: '',
    workdir: '',
    stdout: '',
    stderr: '',
    exit_code: 0,
    signal: null,
    command: '',
    array_job_id: '',
    array_task_id: '',
    extra: {},
    ...fields
  };
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
