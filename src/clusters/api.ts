/**
 * Typed calls of the cluster, job and submit routes of the REST API
 * (docs/rest-api.md, section "Clusters"), and their models.
 */
import type { ServerConnection } from '@jupyterlab/services';
import type { JSONSchema7 } from 'json-schema';
import { requestAPI } from '../api/request';
import type { IErrorBody } from '../api/types';

/**
 * The SSH connection state of a cluster (`local` clusters are always `connected`).
 */
export type ClusterState =
  'idle' | 'connecting' | 'connected' | 'auth_required' | 'error';

/**
 * One question of a password / one-time-code prompt.
 */
export interface IPromptQuestion {
  /** e.g. `Password:`. */
  prompt: string;
  /** Whether the answer may be shown while typed. */
  echo: boolean;
}

/**
 * A keyboard-interactive / password prompt the server waits an answer for.
 */
export interface IAuthPrompt {
  id: string;
  title: string;
  instructions: string;
  prompts: IPromptQuestion[];
}

/**
 * A root folder of a cluster's files.
 */
export interface IClusterRoot {
  name: string;
  path: string;
}

/**
 * A cluster: a place where jobs run and files live.
 */
export interface ICluster {
  name: string;
  display_name: string;
  description: string;
  kind: 'local' | 'ssh';
  scheduler: 'slurm' | 'local' | 'none' | string;
  source: 'site' | 'user';
  host: string | null;
  user: string | null;
  state: ClusterState;
  /** The error shape of the last failure. */
  error: IErrorBody | null;
  /** When `auth_required`: the question to answer. */
  prompt: IAuthPrompt | null;
  roots: IClusterRoot[];
  workdir: string;
  user_name: string | null;
}

/**
 * What a user (or an admin) configures for a cluster.
 */
export interface IClusterConfig {
  host?: string;
  port?: number;
  user?: string;
  identity_file?: string | string[];
  agent?: boolean;
  jump?: string | string[];
  ssh_config?: boolean | string;
  known_hosts?: string;
  scheduler?: 'slurm' | 'local' | 'none';
  workdir?: string;
  roots?: Record<string, string>;
  display_name?: string;
  description?: string;
  max_channels?: number;
  connect_timeout?: number;
  command_timeout?: number;
}

export { ACTIVE_STATES, isActive } from './states';
export type { JobState } from './states';
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

function post(body?: unknown): RequestInit {
  return {
    method: 'POST',
    body: body === undefined ? undefined : JSON.stringify(body)
  };
}

/**
 * `GET /clusters`: the site's and the user's clusters.
 */
export async function listClusters(settings?: Settings): Promise<ICluster[]> {
  const data = await requestAPI<{ clusters: ICluster[] }>(
    ['clusters'],
    {},
    {},
    settings
  );
  return data.clusters;
}

/**
 * `GET /clusters/{cluster}`.
 */
export function getCluster(
  cluster: string,
  settings?: Settings
): Promise<ICluster> {
  return requestAPI<ICluster>(['clusters', cluster], {}, {}, settings);
}

/**
 * `POST /clusters`: add a user cluster.
 */
export function addCluster(
  name: string,
  config: IClusterConfig,
  settings?: Settings
): Promise<ICluster> {
  return requestAPI<ICluster>(
    ['clusters'],
    post({ ...config, name }),
    {},
    settings
  );
}

/**
 * `DELETE /clusters/{cluster}`: remove a user cluster (`cluster.site_defined` for site ones).
 */
export async function removeCluster(
  cluster: string,
  settings?: Settings
): Promise<void> {
  await requestAPI<unknown>(
    ['clusters', cluster],
    { method: 'DELETE' },
    {},
    settings
  );
}

/**
 * `POST /clusters/{cluster}/connect`: open the SSH connection now.
 */
export function connect(
  cluster: string,
  settings?: Settings
): Promise<ICluster> {
  return requestAPI<ICluster>(
    ['clusters', cluster, 'connect'],
    post(),
    {},
    settings
  );
}

/**
 * `POST /clusters/{cluster}/trust`: trust the unknown host key of an `ssh.host_unknown` error.
 */
export function trust(
  cluster: string,
  fingerprint: string,
  settings?: Settings
): Promise<ICluster> {
  return requestAPI<ICluster>(
    ['clusters', cluster, 'trust'],
    post({ fingerprint }),
    {},
    settings
  );
}

/**
 * `POST /clusters/{cluster}/auth`: answer a password / one-time-code prompt.
 */
export function answerPrompt(
  cluster: string,
  promptId: string,
  responses: string[],
  settings?: Settings
): Promise<ICluster> {
  return requestAPI<ICluster>(
    ['clusters', cluster, 'auth'],
    post({ prompt_id: promptId, responses }),
    {},
    settings
  );
}

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
    post(spec),
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
    post(spec),
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
    post(),
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
    post(),
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
    post(),
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
