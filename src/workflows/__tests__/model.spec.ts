/**
 * The pure part of the Workflows UI: array ranges counted, the whole run's
 * placement, the run form's uiSchema, the server's problems at their fields,
 * how often a run is asked again, and what a run shows.
 */
import { nullTranslator } from '@jupyterlab/translation';
import type { IWorkflowRun, IWorkflowRunStep } from '../api';
import {
  arraySize,
  elapsedAt,
  FOLLOW,
  formatSize,
  globalPath,
  inputText,
  isEnded,
  jobCount,
  keepTitles,
  nextDelay,
  problemsByField,
  runElapsedAt,
  runSignature,
  runUiSchema,
  stateLabel,
  stepsLine,
  tasksText,
  templateName,
  wholeRunText
} from '../model';

const trans = nullTranslator.load('jupyter_rpc');

const STEPS = [
  { name: 'prepare', after: [], array: null },
  { name: 'simulate', after: ['prepare'], array: '1-4' },
  { name: 'collect', after: ['simulate'], array: null }
];

function step(fields: Partial<IWorkflowRunStep>): IWorkflowRunStep {
  return {
    name: 'prepare',
    after: [],
    array: null,
    job_id: '11',
    state: 'completed',
    reason: '',
    tasks: {},
    started: 1000,
    ended: 1010,
    elapsed: 10,
    exit_code: 0,
    script: '/home/u/jupyter-rpc-runs/r/prepare.sh',
    ...fields
  };
}

function run(fields: Partial<IWorkflowRun>): IWorkflowRun {
  return {
    id: 'demo-20261207-151000-ab12',
    workflow: 'demo',
    display_name: 'Demo',
    cluster: 'local',
    folder: '/home/u/jupyter-rpc-runs/demo-20261207-151000-ab12',
    drive_path: 'home/jupyter-rpc-runs/demo-20261207-151000-ab12',
    created: 990,
    state: 'running',
    elapsed: 10,
    failed_step: null,
    message: '',
    log_tail: '',
    steps: [
      step({}),
      step({ name: 'simulate', state: 'running', ended: null })
    ],
    outputs: [],
    progress: null,
    inputs: { n: 4 },
    ...fields
  };
}

describe('arraySize', () => {
  it.each([
    [null, 1],
    ['1-4', 4],
    ['0-9:2', 5],
    ['1,3,5', 3],
    ['1-100%10', 100],
    ['1-3,7', 4],
    ['what', 1],
    ['5-1', 1]
  ])('%s makes %d tasks', (range, n) => {
    expect(arraySize(range)).toBe(n);
  });
});

describe('a template', () => {
  it('counts its jobs, an array its tasks', () => {
    expect(jobCount(STEPS)).toBe(6);
    expect(jobCount([])).toBe(1);
  });

  it('says its steps on one line', () => {
    expect(stepsLine(STEPS)).toBe('prepare → simulate ×4 → collect');
  });
});

describe('the placement of a run', () => {
  it('says what the whole run was ranked as', () => {
    expect(
      wholeRunText({ cpus: 2, time_limit: 300, jobs: 6, core_hours: 10 }, trans)
    ).toBe(
      'The whole run: 6 jobs, 10 core hours, ranked as one job of 2 CPUs for 5:00:00.'
    );
    expect(
      wholeRunText(
        { cpus: 1, time_limit: 45.2, jobs: 3, core_hours: 0.753 },
        trans
      )
    ).toBe(
      'The whole run: 3 jobs, 0.75 core hours, ranked as one job of 1 CPUs for 0:45:00.'
    );
  });
});

describe('the run form', () => {
  it('hides what the site hides and shows fixed values read-only', () => {
    const ui = runUiSchema(
      {
        type: 'object',
        properties: {
          n: { type: 'integer' },
          account: { type: 'string', hidden: true } as object,
          partition: { type: 'string', readOnly: true }
        }
      },
      { n: { 'ui:title': 'n *' } }
    );
    expect(ui).toEqual({
      n: { 'ui:title': 'n *' },
      account: { 'ui:widget': 'hidden' },
      partition: { 'ui:readonly': true }
    });
  });

  it('keeps the titles the site wrote', () => {
    const schema = {
      type: 'object' as const,
      properties: { label: { type: 'string' as const, title: 'label' } }
    };
    const ui: Record<string, unknown> = { label: { 'ui:title': 'label *' } };
    keepTitles(
      { properties: { label: { type: 'string', title: 'Label' } } },
      schema,
      ui
    );
    expect(schema.properties.label.title).toBe('Label');
    expect(ui.label).toEqual({ 'ui:title': 'Label *' });
  });

  it('puts the server’s problems at their fields', () => {
    expect(
      problemsByField({
        problems: [
          { path: 'values.n', message: 'Enter 10 or less' },
          { path: ['label'], message: 'Too long' },
          { path: '/values/n', message: 'again' },
          { path: '', message: 'No such template input: x' },
          { message: 42 }
        ]
      })
    ).toEqual({
      n: ['Enter 10 or less', 'again'],
      label: ['Too long'],
      '': ['No such template input: x']
    });
    expect(problemsByField(null)).toEqual({});
    expect(problemsByField({ problems: 'no' })).toEqual({});
  });
});

describe('following a run', () => {
  it('asks again soon after a change, less often while nothing changes', () => {
    expect(nextDelay(0, false)).toBe(FOLLOW.first);
    let d: number = FOLLOW.first;
    const seen = [d];
    for (let i = 0; i < 12; i++) {
      d = nextDelay(d, false);
      seen.push(d);
    }
    expect(seen[1]).toBe(3000);
    expect(Math.max(...seen)).toBe(FOLLOW.max);
    expect(seen.every((v, i) => i === 0 || v >= seen[i - 1])).toBe(true);
    expect(nextDelay(FOLLOW.max, true)).toBe(FOLLOW.first);
  });

  it('sees a change in a step’s state or tasks, not in the clock', () => {
    const a = run({});
    expect(runSignature(run({ elapsed: 99 }))).toBe(runSignature(a));
    const moved = run({
      steps: [step({}), step({ name: 'simulate', tasks: { completed: 1 } })]
    });
    expect(runSignature(moved)).not.toBe(runSignature(a));
  });

  it('knows which states end', () => {
    expect(
      ['completed', 'failed', 'cancelled'].every(s => isEnded(s as never))
    ).toBe(true);
    expect(isEnded('running')).toBe(false);
    expect(isEnded('unknown')).toBe(false);
    expect(isEnded('pending')).toBe(false);
  });
});

describe('what a run shows', () => {
  it('counts a running step’s time from its start', () => {
    expect(elapsedAt(step({}), 5000)).toBe(10);
    expect(elapsedAt(step({ ended: null, elapsed: 3 }), 1042)).toBe(42);
    expect(
      elapsedAt(step({ started: null, ended: null, elapsed: null }), 9)
    ).toBe(null);
    expect(runElapsedAt(run({}), 1100)).toBe(100);
    expect(runElapsedAt(run({ state: 'completed', elapsed: 20 }), 9999)).toBe(
      20
    );
  });

  it('writes states, tasks, sizes and inputs for people', () => {
    expect(stateLabel('failed', trans)).toBe('failed');
    expect(tasksText({ completed: 3, running: 1, failed: 0 }, trans)).toBe(
      '3 completed, 1 running'
    );
    expect(formatSize(512)).toBe('512 B');
    expect(formatSize(1500)).toBe('1.5 kB');
    expect(formatSize(3_200_000)).toBe('3.2 MB');
    expect(formatSize(null)).toBe('');
    expect(inputText('a; rm -rf ~')).toBe('a; rm -rf ~');
    expect(inputText({ a: [1, 2] })).toBe('{"a":[1,2]}');
    expect(inputText(3)).toBe('3');
  });

  it('opens a file through the cluster’s drive', () => {
    expect(globalPath('local', 'demo/jobs/r/out.txt')).toBe(
      'rpc-local:demo/jobs/r/out.txt'
    );
  });

  it('suggests a template name from a job’s name', () => {
    expect(templateName('My Job.sh')).toBe('my-job-sh');
    expect(templateName('  2nd run!')).toBe('nd-run');
    expect(templateName('')).toBe('');
  });
});
