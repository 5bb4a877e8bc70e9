/**
 * Typed calls of the workflows' routes of the REST API (docs/workflows.md,
 * docs/rest-api.md): a cluster's catalog of templates, a template's run form,
 * runs (submit, list, one, cancel, the form of Run again) and Save as
 * template from a job.
 */
import type { ServerConnection } from '@jupyterlab/services';
import type { JSONSchema7 } from 'json-schema';
import type { Answer, BodyOf } from '../shared/contract';
import type * as wire from '../shared/openapi';
import { postBody, requestAPI } from '../shared/request';

/** A template of the catalog (without its form). */
export type IWorkflowInfo = wire.IWorkflowInfo;
/** The catalog of a cluster: templates, and the ones refused when loaded. */
export type IWorkflowList = wire.IWorkflowList;
/** One step of a template: what it waits for, its array range. */
export type IWorkflowStepInfo = wire.IWorkflowStepInfo;
/** A run: its steps, the failed one's log tail, outputs and inputs. */
export type IWorkflowRun = wire.IWorkflowRun;
/** One step of a run (one job, or an array job). */
export type IWorkflowRunStep = wire.IWorkflowRunStep;
/** A file of a run's outputs. */
export type IWorkflowRunOutput = wire.IWorkflowRunOutput;
/** The state of a run and of its steps. */
export type RunState = wire.IWorkflowRun['state'];

/**
 * A template with its run form (the form read as a JSON Schema).
 */
export interface IWorkflowDetail extends Omit<wire.IWorkflowDetail, 'form'> {
  form: JSONSchema7;
}

/**
 * What Run again starts from: the template, its form, the run's values.
 */
export interface IRunAgainForm {
  workflow: string;
  form: JSONSchema7;
  values: Record<string, unknown>;
}

type Settings = ServerConnection.ISettings | undefined;

/**
 * `GET /clusters/{cluster}/workflows`: the templates that fit the cluster.
 */
export function listWorkflows(
  cluster: string,
  settings?: Settings
): Promise<IWorkflowList> {
  return requestAPI<Answer<'listWorkflows'>>(
    ['clusters', cluster, 'workflows'],
    {},
    {},
    settings
  );
}

/**
 * `GET /clusters/{cluster}/workflows/{workflow}`: a template and its form.
 */
export async function getWorkflow(
  cluster: string,
  workflow: string,
  settings?: Settings
): Promise<IWorkflowDetail> {
  const detail = await requestAPI<Answer<'getWorkflow'>>(
    ['clusters', cluster, 'workflows', workflow],
    {},
    {},
    settings
  );
  return { ...detail, form: detail.form as JSONSchema7 };
}

/**
 * `POST /clusters/{cluster}/workflows/{workflow}`: submit a run with the
 * form's values (every step at once, chained by the scheduler).
 */
export function runWorkflow(
  cluster: string,
  workflow: string,
  values: Record<string, unknown>,
  settings?: Settings
): Promise<IWorkflowRun> {
  const body: BodyOf<'runWorkflow'> = { values };
  return requestAPI<Answer<'runWorkflow'>>(
    ['clusters', cluster, 'workflows', workflow],
    postBody(body),
    {},
    settings
  );
}

/**
 * `DELETE /clusters/{cluster}/workflows/{workflow}`: remove a template of the
 * user's own.
 */
export async function removeWorkflow(
  cluster: string,
  workflow: string,
  settings?: Settings
): Promise<void> {
  await requestAPI<Answer<'removeWorkflow'>>(
    ['clusters', cluster, 'workflows', workflow],
    { method: 'DELETE' },
    {},
    settings
  );
}

/**
 * `GET /clusters/{cluster}/runs`: the runs, newest first (without outputs).
 */
export async function listRuns(
  cluster: string,
  settings?: Settings
): Promise<IWorkflowRun[]> {
  const data = await requestAPI<Answer<'listRuns'>>(
    ['clusters', cluster, 'runs'],
    {},
    {},
    settings
  );
  return data.runs;
}

/**
 * `GET /clusters/{cluster}/runs/{run}`: one run now, with its outputs.
 */
export function getRun(
  cluster: string,
  run: string,
  settings?: Settings
): Promise<IWorkflowRun> {
  return requestAPI<Answer<'getRun'>>(
    ['clusters', cluster, 'runs', run],
    {},
    {},
    settings
  );
}

/**
 * `DELETE /clusters/{cluster}/runs/{run}`: cancel every step not ended.
 */
export function cancelRun(
  cluster: string,
  run: string,
  settings?: Settings
): Promise<IWorkflowRun> {
  return requestAPI<Answer<'cancelRun'>>(
    ['clusters', cluster, 'runs', run],
    { method: 'DELETE' },
    {},
    settings
  );
}

/**
 * `GET /clusters/{cluster}/runs/{run}/form`: the form of Run again.
 */
export async function runAgainForm(
  cluster: string,
  run: string,
  settings?: Settings
): Promise<IRunAgainForm> {
  const data = await requestAPI<Answer<'runAgainForm'>>(
    ['clusters', cluster, 'runs', run, 'form'],
    {},
    {},
    settings
  );
  return {
    workflow: data.workflow,
    form: data.form as JSONSchema7,
    values: data.values
  };
}

/**
 * `POST /clusters/{cluster}/jobs/{job}/save-as-template`: a one-step template
 * of the user's own from a job's script and resources.
 */
export function saveJobAsTemplate(
  cluster: string,
  job: string,
  body: BodyOf<'saveJobAsWorkflow'>,
  settings?: Settings
): Promise<IWorkflowInfo> {
  return requestAPI<Answer<'saveJobAsWorkflow'>>(
    ['clusters', cluster, 'jobs', job, 'save-as-template'],
    postBody(body),
    {},
    settings
  );
}

/**
 * Where should a whole run go: the placement of the run as one job (the
 * largest step's CPUs for as long as every step's core-hours take on them),
 * on the clusters whose catalog has the template.
 */
export type IWorkflowPlacement = wire.IWorkflowPlacement;

/**
 * `POST /workflows/{workflow}/placement`: rank the clusters for a run with
 * these values (checked against the template's form).
 */
export function placeRun(
  workflow: string,
  values: Record<string, unknown>,
  settings?: Settings
): Promise<IWorkflowPlacement> {
  const body: BodyOf<'placeWorkflow'> = { values, timeout: 5 };
  return requestAPI<Answer<'placeWorkflow'>>(
    ['workflows', workflow, 'placement'],
    postBody(body),
    {},
    settings
  );
}

/**
 * `POST /clusters/{cluster}/notebooks`: run a notebook as a batch job (a run
 * of one step) with other values for its parameters cell.
 */
export function runNotebook(
  cluster: string,
  body: BodyOf<'runNotebook'>,
  settings?: Settings
): Promise<IWorkflowRun> {
  return requestAPI<Answer<'runNotebook'>>(
    ['clusters', cluster, 'notebooks'],
    postBody(body),
    {},
    settings
  );
}
