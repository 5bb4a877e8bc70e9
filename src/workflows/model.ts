/**
 * The pure part of the Workflows UI (no DOM): states as words, a run's jobs
 * counted from its steps' array ranges, the whole run's placement, the run
 * form's uiSchema and its problems at their fields, and how often a running
 * run is asked again.
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import type { ReadonlyJSONObject } from '@lumino/coreutils';
import type { UiSchema } from '@rjsf/utils';
import type { JSONSchema7 } from 'json-schema';
import type {
  IWorkflowInfo,
  IWorkflowRun,
  IWorkflowStepInfo,
  RunState
} from './api';

type Trans = Pick<TranslationBundle, '__'>;

/**
 * The states after which nothing changes any more.
 */
export const ENDED_STATES: ReadonlyArray<RunState> = [
  'completed',
  'failed',
  'cancelled'
];

/**
 * Whether a run or a step has ended.
 */
export function isEnded(state: RunState): boolean {
  return ENDED_STATES.includes(state);
}

/**
 * The word shown for a run's or a step's state.
 */
export function stateLabel(state: RunState, trans: Trans): string {
  switch (state) {
    case 'pending':
      return trans.__('pending');
    case 'running':
      return trans.__('running');
    case 'completed':
      return trans.__('completed');
    case 'failed':
      return trans.__('failed');
    case 'cancelled':
      return trans.__('cancelled');
    default:
      return trans.__('unknown');
  }
}

/**
 * How many tasks an array range makes (`1-4` → 4, `0-9:2` → 5, `1,3,5` → 3,
 * `1-100%10` → 100); 1 for `null` or what cannot be read.
 */
export function arraySize(range: string | null | undefined): number {
  if (!range) {
    return 1;
  }
  const spec = range.split('%')[0];
  let count = 0;
  for (const part of spec.split(',')) {
    const m = /^\s*(\d+)(?:\s*-\s*(\d+)(?:\s*:\s*(\d+))?)?\s*$/.exec(part);
    if (!m) {
      return 1;
    }
    if (m[2] === undefined) {
      count += 1;
      continue;
    }
    const first = Number(m[1]);
    const last = Number(m[2]);
    const step = m[3] === undefined ? 1 : Math.max(1, Number(m[3]));
    if (last < first) {
      return 1;
    }
    count += Math.floor((last - first) / step) + 1;
  }
  return Math.max(1, count);
}

/**
 * How many jobs a run of these steps submits (an array step counts its tasks).
 */
export function jobCount(steps: ReadonlyArray<IWorkflowStepInfo>): number {
  return steps.reduce((n, s) => n + arraySize(s.array), 0) || 1;
}

/**
 * A template's steps as one line: `prepare → simulate ×4 → collect`.
 */
export function stepsLine(steps: ReadonlyArray<IWorkflowStepInfo>): string {
  return steps
    .map(s => (s.array ? `${s.name} ×${arraySize(s.array)}` : s.name))
    .join(' → ');
}

/**
 * Whether a template may run on a cluster.
 */
export function fitsCluster(info: IWorkflowInfo, cluster: string): boolean {
  return info.clusters === '*' || info.clusters.includes(cluster);
}

/**
 * What the whole run was ranked as, for people: `6 jobs, 10 core hours:
 * ranked as one job of 2 CPUs for 5:00:00`.
 */
export function wholeRunText(
  run: { cpus: number; time_limit: number; jobs: number; core_hours: number },
  trans: Trans
): string {
  const hours = Math.round(run.core_hours * 100) / 100;
  const minutes = Math.max(0, Math.round(run.time_limit));
  const time = `${Math.floor(minutes / 60)}:${`${minutes % 60}`.padStart(2, '0')}:00`;
  return trans.__(
    'The whole run: %1 jobs, %2 core hours, ranked as one job of %3 CPUs for %4.',
    run.jobs,
    hours,
    run.cpus,
    time
  );
}

/**
 * The run form's uiSchema: the prepared one, with the fields the site hides
 * (`hidden: true`) hidden and read-only ones (an admin's fixed value) shown
 * disabled; the image list first after the inputs, the resources last.
 */
export function runUiSchema(
  schema: JSONSchema7,
  prepared: UiSchema<ReadonlyJSONObject>
): UiSchema<ReadonlyJSONObject> {
  const ui: UiSchema<ReadonlyJSONObject> = { ...prepared };
  for (const [key, prop] of Object.entries(schema.properties ?? {})) {
    if (typeof prop !== 'object') {
      continue;
    }
    const p = prop as JSONSchema7 & { hidden?: boolean };
    if (p.hidden) {
      ui[key] = { ...(ui[key] ?? {}), 'ui:widget': 'hidden' };
    } else if (p.readOnly) {
      ui[key] = { ...(ui[key] ?? {}), 'ui:readonly': true };
    }
  }
  return ui;
}

/**
 * The resources of a run form (the fields after the template's inputs).
 */
export const RESOURCE_FIELDS: ReadonlyArray<string> = [
  'partition',
  'hours',
  'cpus',
  'gpus',
  'memory_mb'
];

/**
 * One problem the server found in the values (`details.problems`).
 */
export interface IValueProblem {
  path?: unknown;
  message?: unknown;
}

/**
 * The server's `details.problems` (or `errors`) of a refused run as
 * messages by field (the first segment of each path, `values.` left out);
 * problems with no field go under `''`.
 */
export function problemsByField(
  details: Record<string, unknown> | null | undefined
): Record<string, string[]> {
  const found: Record<string, string[]> = {};
  const list = (details?.problems ?? details?.errors) as unknown;
  if (!Array.isArray(list)) {
    return found;
  }
  for (const item of list as IValueProblem[]) {
    if (!item || typeof item !== 'object') {
      continue;
    }
    const message = typeof item.message === 'string' ? item.message : '';
    let parts: string[] = [];
    if (Array.isArray(item.path)) {
      parts = item.path.map(p => `${p}`);
    } else if (typeof item.path === 'string') {
      parts = item.path.split(/[./]/);
    }
    parts = parts.filter(Boolean);
    if (parts[0] === 'values') {
      parts.shift();
    }
    const field = parts[0] ?? '';
    if (message) {
      (found[field] ??= []).push(message);
    }
  }
  return found;
}

/**
 * How often a run that has not ended is asked again (ms): at once after a
 * change, then less and less often while nothing changes.
 */
export const FOLLOW = { first: 2000, growth: 1.5, max: 30000 } as const;

/**
 * The delay before the next look at a run: {@link FOLLOW}'s first after a
 * change, else the last one grown, up to its max.
 */
export function nextDelay(last: number, changed: boolean): number {
  if (changed || last <= 0) {
    return FOLLOW.first;
  }
  return Math.min(FOLLOW.max, Math.round(last * FOLLOW.growth));
}

/**
 * What changes when a run moves on (its state, its steps' states and tasks,
 * its outputs): two looks with the same signature saw nothing new.
 */
export function runSignature(run: IWorkflowRun): string {
  return JSON.stringify([
    run.state,
    run.failed_step,
    run.steps.map(s => [s.state, s.tasks, s.job_id]),
    run.outputs.map(o => [o.path, o.size])
  ]);
}

/**
 * An array step's tasks as words: `3 completed, 1 running`.
 */
export function tasksText(tasks: Record<string, number>, trans: Trans): string {
  return Object.entries(tasks)
    .filter(([, n]) => n > 0)
    .map(([state, n]) => `${n} ${stateLabel(state as RunState, trans)}`)
    .join(', ');
}

/**
 * A file size for people (`512 B`, `1.5 kB`, `3.2 MB`); empty when unknown.
 */
export function formatSize(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !isFinite(bytes)) {
    return '';
  }
  if (bytes < 1000) {
    return `${bytes} B`;
  }
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 'B';
  for (const u of units) {
    value /= 1000;
    unit = u;
    if (value < 1000) {
      break;
    }
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${unit}`;
}

/**
 * An input's value as shown among the inputs used.
 */
export function inputText(value: unknown): string {
  if (typeof value === 'string') {
    return value;
  }
  if (value === undefined) {
    return '';
  }
  return JSON.stringify(value);
}

/**
 * The global path (`rpc-<cluster>:<drive path>`) Lab opens a run's file with.
 */
export function globalPath(cluster: string, drivePath: string): string {
  return `rpc-${cluster}:${drivePath}`;
}

/**
 * A template's name made from what a person typed (letters, digits, `-`,
 * `_`; starting with a letter).
 */
export function templateName(text: string): string {
  const name = text
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .replace(/-+$/, '');
  return name.slice(0, 64);
}

/**
 * Seconds a step has run as of `now` (seconds): the server's figure once it
 * ended, else counted from its start; `null` before it started.
 */
export function elapsedAt(
  step: {
    started: number | null;
    ended: number | null;
    elapsed: number | null;
  },
  now: number
): number | null {
  if (step.ended !== null || step.started === null) {
    return step.elapsed;
  }
  return Math.max(step.elapsed ?? 0, now - step.started);
}

/**
 * Seconds a run has run as of `now` (seconds), from its first step's start
 * to its last step's end (until now while it runs).
 */
export function runElapsedAt(run: IWorkflowRun, now: number): number | null {
  if (isEnded(run.state)) {
    return run.elapsed;
  }
  const starts = run.steps
    .map(s => s.started)
    .filter((t): t is number => t !== null);
  if (!starts.length) {
    return run.elapsed;
  }
  return Math.max(run.elapsed ?? 0, now - Math.min(...starts));
}

/**
 * The titles a site wrote for its inputs, kept: the functions' form names a
 * field by its name when its title is pydantic's (`Label` for `label`), but a
 * template's titles are a person's.
 */
export function keepTitles(
  source: JSONSchema7,
  schema: JSONSchema7,
  uiSchema: UiSchema<ReadonlyJSONObject>
): void {
  for (const [key, prop] of Object.entries(source.properties ?? {})) {
    const target = schema.properties?.[key];
    if (
      typeof prop !== 'object' ||
      typeof target !== 'object' ||
      typeof prop.title !== 'string' ||
      !prop.title
    ) {
      continue;
    }
    target.title = prop.title;
    const ui = uiSchema[key] as Record<string, unknown> | undefined;
    if (ui && typeof ui['ui:title'] === 'string') {
      ui['ui:title'] = `${prop.title} *`;
    }
  }
}
