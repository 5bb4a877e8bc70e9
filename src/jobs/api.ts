/**
 * Typed calls of the job routes of the REST API (docs/rest-api.md, section
 * "Clusters": `/clusters/{cluster}/jobs`, `history`, `submit-schema`) and
 * their models.
 */
import type { ServerConnection } from '@jupyterlab/services';
import type { JSONSchema7 } from 'json-schema';
import { postBody, requestAPI } from '../shared/request';
import type { JobState } from './states';

/**
 * One job (or one task of an array job). Times are epoch seconds, durations seconds.
 */
export interface IJobInfo {
  /** `123`, `123_4` for an array task, `123_[5-9%2]` for tasks not started. */
  id: string;
  name: string;
  state: JobState;
  raw_state: string;
  user: string;
  partition: string;
  /** Why pending (or how it ended), in the scheduler's words. */
  reason: string;
  submitted: number | null;
  started: number | null;
  ended: number | null;
  expected_start: number | null;
  elapsed: number | null;
  time_limit: number | null;
  nodes: string;
  num_nodes: number | null;
  cpus: number | null;
  memory_mb: number | null;
  gpus: string;
  account: string;
  qos: string;
  workdir: string;
  stdout: string;
  stderr: string;
  exit_code: number | null;
  signal: number | null;
  /** CPU time used (user + system, seconds), where accounting measured it. */
  cpu_used?: number | null;
  /** Peak resident memory (MB), where accounting measured it. */
  memory_peak_mb?: number | null;
  command: string;
  array_job_id: string;
  array_task_id: string;
  extra: Record<string, unknown>;
}

/**
 * What the submit form sends; absent means: the scheduler's default.
 */
export interface IJobSpec {
  /** The batch script's text, or ... */
  script?: string | null;
  /** ... a file on the cluster. */
  script_path?: string | null;
  name?: string | null;
  partition?: string | null;
  /** Minutes. */
  time_limit?: number | null;
  /** Per task. */
  cpus?: number | null;
  /** Per node. */
  memory_mb?: number | null;
  gpus?: number | null;
  nodes?: number | null;
  ntasks?: number | null;
  account?: string | null;
  qos?: string | null;
  /** `0-9`, `1,3,5`, `1-100%10`. */
  array?: string | null;
  workdir?: string | null;
  stdout?: string | null;
  stderr?: string | null;
  env?: Record<string, string>;
  hold?: boolean;
  extra_args?: string[];
}

/**
 * A queue with the limits the submit form enforces (minutes, MB).
 */
export interface IPartition {
  name: string;
  default: boolean;
  state: string;
  max_time: number | null;
  default_time: number | null;
  max_nodes: number | null;
  max_cpus_per_node: number | null;
  max_memory_mb: number | null;
  gpus: number | null;
}

/**
 * A piece of a job's stdout or stderr, read from `offset`.
 */
export interface IOutputChunk {
  path: string;
  offset: number;
  /** Ask from here next time. */
  next_offset: number;
  /** The file's size now. */
  size: number;
  data: string;
  exists: boolean;
}

/**
 * Answer of `GET /clusters/{cluster}/jobs`.
 */
export interface IJobList {
  jobs: IJobInfo[];
  /** When the scheduler was asked (epoch seconds). */
  fetched: number;
  /** The user the jobs are listed for. */
  user: string;
}

/**
 * Answer of `POST /clusters/{cluster}/jobs/test`.
 */
export interface ITestResult {
  expected_start: number | null;
  message: string;
}

/**
 * Answer of `GET /clusters/{cluster}/submit-schema`.
 */
export interface ISubmitSchema {
  schema: JSONSchema7;
  ui_schema: Record<string, unknown>;
  partitions: IPartition[];
}

/**
 * The output streams of a job.
 */
export type OutputStream = 'stdout' | 'stderr';

type Settings = ServerConnection.ISettings | undefined;

/**
 * `GET /clusters/{cluster}/jobs`: the user's jobs (or everyone's).
 */
export function listJobs(
  cluster: string,
  allUsers = false,
  settings?: Settings
): Promise<IJobList> {
  return requestAPI<IJobList>(
    ['clusters', cluster, 'jobs'],
    {},
    { all_users: allUsers ? 1 : 0 },
    settings
  );
}

/**
 * `POST /clusters/{cluster}/jobs`: submit a job.
 */
export function submitJob(
  cluster: string,
  spec: IJobSpec,
  settings?: Settings
): Promise<IJobInfo> {
  return requestAPI<IJobInfo>(
    ['clusters', cluster, 'jobs'],
    postBody(spec),
    {},
    settings
  );
}

/**
 * `POST /clusters/{cluster}/jobs/test`: when would this job start?
 */
export function testJob(
  cluster: string,
  spec: IJobSpec,
  settings?: Settings
): Promise<ITestResult> {
  return requestAPI<ITestResult>(
    ['clusters', cluster, 'jobs', 'test'],
    postBody(spec),
    {},
    settings
  );
}

/**
 * `GET /clusters/{cluster}/jobs/{job_id}`: detail of one job.
 */
export function getJob(
  cluster: string,
  jobId: string,
  settings?: Settings
): Promise<IJobInfo> {
  return requestAPI<IJobInfo>(
    ['clusters', cluster, 'jobs', jobId],
    {},
    {},
    settings
  );
}

/**
 * `DELETE /clusters/{cluster}/jobs/{job_id}`: cancel a job.
 */
export function cancelJob(
  cluster: string,
  jobId: string,
  settings?: Settings
): Promise<IJobInfo> {
  return requestAPI<IJobInfo>(
    ['clusters', cluster, 'jobs', jobId],
    { method: 'DELETE' },
    {},
    settings
  );
}

/**
 * `POST /clusters/{cluster}/jobs/{job_id}/hold`.
 */
export function holdJob(
  cluster: string,
  jobId: string,
  settings?: Settings
): Promise<IJobInfo> {
  return requestAPI<IJobInfo>(
    ['clusters', cluster, 'jobs', jobId, 'hold'],
    postBody(),
    {},
    settings
  );
}

/**
 * `POST /clusters/{cluster}/jobs/{job_id}/release`.
 */
export function releaseJob(
  cluster: string,
  jobId: string,
  settings?: Settings
): Promise<IJobInfo> {
  return requestAPI<IJobInfo>(
    ['clusters', cluster, 'jobs', jobId, 'release'],
    postBody(),
    {},
    settings
  );
}

/**
 * `POST /clusters/{cluster}/jobs/{job_id}/resubmit`: the same script and resources again.
 */
export function resubmitJob(
  cluster: string,
  jobId: string,
  settings?: Settings
): Promise<IJobInfo> {
  return requestAPI<IJobInfo>(
    ['clusters', cluster, 'jobs', jobId, 'resubmit'],
    postBody(),
    {},
    settings
  );
}

/**
 * Options of {@link readOutput}.
 */
export interface IReadOutputOptions {
  stream?: OutputStream;
  offset?: number;
  limit?: number;
}

/**
 * `GET /clusters/{cluster}/jobs/{job_id}/output`: a piece of the live log.
 */
export function readOutput(
  cluster: string,
  jobId: string,
  options: IReadOutputOptions = {},
  settings?: Settings
): Promise<IOutputChunk> {
  return requestAPI<IOutputChunk>(
    ['clusters', cluster, 'jobs', jobId, 'output'],
    {},
    {
      stream: options.stream ?? 'stdout',
      offset: options.offset ?? 0,
      limit: options.limit ?? 65536
    },
    settings
  );
}

/**
 * `GET /clusters/{cluster}/history`: the user's jobs of the last `days` days.
 */
export async function history(
  cluster: string,
  days = 7,
  settings?: Settings
): Promise<IJobInfo[]> {
  const data = await requestAPI<{ jobs: IJobInfo[] }>(
    ['clusters', cluster, 'history'],
    {},
    { days },
    settings
  );
  return data.jobs;
}

/**
 * `GET /clusters/{cluster}/submit-schema`: the submit form of this cluster.
 */
export function submitSchema(
  cluster: string,
  settings?: Settings
): Promise<ISubmitSchema> {
  return requestAPI<ISubmitSchema>(
    ['clusters', cluster, 'submit-schema'],
    {},
    {},
    settings
  );
}
