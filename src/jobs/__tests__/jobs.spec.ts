import type { IJobInfo } from '../api';
import { isActive } from '../states';
import { appendTail } from '../hooks';
import { endedJobs, endNotices } from '../ends';
import { formatElapsedLimit, formatRelative } from '../format';
import { compareIds, filterRows, groupJobs, sortRows } from '../rows';
import { cleanSpec, envText, fieldMessage, parseEnv } from '../spec';
import { formatJobDuration as formatDuration } from '../../shared/duration';
import { job } from './jobInfo';

function task(
  array: string,
  index: string,
  fields: Partial<IJobInfo> = {}
): IJobInfo {
  return job({
    id: `${array}_${index}`,
    array_job_id: array,
    array_task_id: index,
    ...fields
  });
}

describe('groupJobs', () => {
  it('puts the tasks of an array under one row, in task order, pending range last', () => {
    const rows = groupJobs([
      task('40', '10', { state: 'completed' }),
      job({ id: '41', name: 'single' }),
      task('40', '[11-12]', { state: 'pending' }),
      task('40', '2', { state: 'running' })
    ]);
    expect(rows.map(r => r.key)).toEqual(['40', '41']);
    expect(rows[0].tasks.map(t => t.array_task_id)).toEqual([
      '2',
      '10',
      '[11-12]'
    ]);
    // An array shows its most alive task's state.
    expect(rows[0].state).toBe('running');
    expect(rows[1].tasks).toEqual([]);
    expect(rows[1].state).toBe('pending');
  });

  it('shows failed for an ended array with a failed task', () => {
    const [row] = groupJobs([
      task('7', '0', { state: 'completed' }),
      task('7', '1', { state: 'failed' })
    ]);
    expect(row.state).toBe('failed');
  });
});

describe('sorting and filtering', () => {
  const jobs = [
    job({ id: '99', name: 'beta', state: 'completed', elapsed: 30 }),
    job({
      id: '100',
      name: 'alpha',
      state: 'running',
      elapsed: 5,
      nodes: 'c1'
    }),
    job({
      id: '9',
      name: 'gamma',
      state: 'pending',
      reason: 'Priority',
      partition: 'long'
    })
  ];

  it('compares ids as numbers', () => {
    expect(compareIds('99', '100')).toBeLessThan(0);
    expect(compareIds('12_2', '12_10')).toBeLessThan(0);
    expect(compareIds('12', '12_1')).toBeLessThan(0);
  });

  it('sorts by id numerically, both ways', () => {
    const rows = groupJobs(jobs);
    expect(
      sortRows(rows, { key: 'id', ascending: true }).map(r => r.key)
    ).toEqual(['9', '99', '100']);
    expect(
      sortRows(rows, { key: 'id', ascending: false }).map(r => r.key)
    ).toEqual(['100', '99', '9']);
  });

  it('sorts by name, by state (active first) and by elapsed time', () => {
    const rows = groupJobs(jobs);
    expect(
      sortRows(rows, { key: 'name', ascending: true }).map(r => r.job.name)
    ).toEqual(['alpha', 'beta', 'gamma']);
    expect(
      sortRows(rows, { key: 'state', ascending: true }).map(r => r.state)
    ).toEqual(['running', 'pending', 'completed']);
    expect(
      sortRows(rows, { key: 'elapsed', ascending: false }).map(r => r.key)
    ).toEqual(['99', '100', '9']);
  });

  it('filters by every word, over id, name, state, partition, nodes and reason', () => {
    const rows = groupJobs(jobs);
    expect(filterRows(rows, 'ALPHA').map(r => r.key)).toEqual(['100']);
    expect(filterRows(rows, 'priority long').map(r => r.key)).toEqual(['9']);
    expect(filterRows(rows, 'c1 running').map(r => r.key)).toEqual(['100']);
    expect(filterRows(rows, 'gamma running')).toEqual([]);
    expect(filterRows(rows, '  ').length).toBe(3);
  });

  it('keeps only the matching tasks of an array', () => {
    const rows = groupJobs([
      task('5', '0', { state: 'completed' }),
      task('5', '1', { state: 'failed' })
    ]);
    const [row] = filterRows(rows, 'failed');
    expect(row.tasks.map(t => t.id)).toEqual(['5_1']);
    expect(row.state).toBe('failed');
  });
});

describe('time formatting', () => {
  it('writes durations like Slurm', () => {
    expect(formatDuration(null)).toBe('');
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(59.6)).toBe('1:00');
    expect(formatDuration(605)).toBe('10:05');
    expect(formatDuration(3 * 3600 + 2 * 60 + 1)).toBe('3:02:01');
    expect(formatDuration(2 * 86400 + 3 * 3600)).toBe('2-03:00:00');
  });

  it('writes elapsed / limit, without an unknown limit', () => {
    expect(formatElapsedLimit(65, 600)).toBe('1:05 / 10:00');
    expect(formatElapsedLimit(65, null)).toBe('1:05');
    expect(formatElapsedLimit(null, 3600)).toBe('0s / 1:00:00');
  });

  it('says how long until or since', () => {
    expect(formatRelative(1000 + 300, 1000)).toBe('in 5 min');
    expect(formatRelative(1000 - 7200, 1000)).toBe('2 h ago');
    expect(formatRelative(1000, 1000)).toBe('in 0 s');
  });
});

describe('ended jobs between two polls', () => {
  it("reports my jobs that left an active state, not others' or already ended ones", () => {
    const before = [
      job({ id: '1', state: 'running' }),
      job({ id: '2', state: 'pending' }),
      job({ id: '3', state: 'completed' }),
      job({ id: '4', state: 'running', user: 'someone' }),
      job({ id: '5', state: 'running' })
    ];
    const after = [
      job({ id: '1', state: 'completed' }),
      job({ id: '2', state: 'running' }),
      job({ id: '3', state: 'completed' }),
      job({ id: '4', state: 'failed', user: 'someone' })
    ];
    const { ended, missing } = endedJobs(before, after, 'hpcuser');
    expect(ended.map(e => [e.job.id, e.previous, e.job.state])).toEqual([
      ['1', 'running', 'completed']
    ]);
    // Job 5 vanished: the caller looks up its final state.
    expect(missing.map(j => j.id)).toEqual(['5']);
  });

  it('does not report a pending array range whose tasks started', () => {
    const before = [task('8', '[0-2]', { state: 'pending' })];
    const after = [task('8', '0', { state: 'running' })];
    expect(endedJobs(before, after, 'hpcuser')).toEqual({
      ended: [],
      missing: []
    });
  });

  it('folds the tasks of an array into one notice, and picks the kind', () => {
    const notices = endNotices([
      { job: task('9', '0', { state: 'completed' }), previous: 'running' },
      { job: task('9', '1', { state: 'failed' }), previous: 'running' },
      { job: job({ id: '10', state: 'completed' }), previous: 'running' },
      { job: job({ id: '11', state: 'cancelled' }), previous: 'pending' },
      { job: task('12', '3', { state: 'timeout' }), previous: 'running' }
    ]);
    expect(
      notices.map(n => [n.job.id, n.arrayId, n.jobs.length, n.kind])
    ).toEqual([
      ['9_0', '9', 2, 'error'],
      ['10', '', 1, 'success'],
      ['11', '', 1, 'info'],
      ['12_3', '', 1, 'error']
    ]);
  });

  it('knows which states are active', () => {
    expect(
      ['pending', 'held', 'running', 'completing', 'suspended'].every(s =>
        isActive(s as any)
      )
    ).toBe(true);
    expect(
      ['completed', 'failed', 'cancelled', 'timeout', 'unknown'].some(s =>
        isActive(s as any)
      )
    ).toBe(false);
  });
});

describe('submit and output helpers', () => {
  it('reads the environment text, naming the lines that are not NAME=value', () => {
    expect(parseEnv('A=1\n\nB_2=x=y\r\nnot a variable\n=3')).toEqual({
      env: { A: '1', B_2: 'x=y' },
      errors: ['4: not a variable', '5: =3']
    });
    expect(envText({ A: '1', B: 'two words' })).toBe('A=1\nB=two words');
    expect(envText('A=1')).toBe('A=1');
  });

  it('says what is wrong with a field as a person reads it', () => {
    const trans = {
      __: (msg: string, ...args: unknown[]) =>
        args.reduce<string>((m, a, i) => m.replace(`%${i + 1}`, String(a)), msg)
    };
    expect(fieldMessage({ name: 'minimum', params: { limit: 1 } }, trans)).toBe(
      'Must be at least 1.'
    );
    expect(
      fieldMessage({ name: 'type', params: { type: 'integer' } }, trans)
    ).toBe('Must be a whole number.');
    expect(fieldMessage({ name: 'other', message: 'as ajv says' }, trans)).toBe(
      'as ajv says'
    );
  });

  it('drops empty values so the scheduler defaults apply', () => {
    expect(
      cleanSpec({
        script: 'echo hi',
        name: '',
        partition: null,
        env: {},
        extra_args: [],
        cpus: 2,
        hold: false
      })
    ).toEqual({ script: 'echo hi', cpus: 2, hold: false });
  });

  it('appends output and keeps only the last part of a long one', () => {
    let tail = {
      text: '',
      truncated: false,
      exists: true,
      path: '',
      error: ''
    };
    tail = appendTail(tail, 'hello\n', 10);
    expect(tail).toMatchObject({ text: 'hello\n', truncated: false });
    tail = appendTail(tail, 'world\n', 10);
    expect(tail).toMatchObject({
      text: 'llo\nworld\n',
      truncated: true
    });
    expect(tail.text.length).toBeLessThanOrEqual(10);
  });
});
