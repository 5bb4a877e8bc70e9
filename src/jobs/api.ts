/**
 * Typed calls of the job routes of the REST API (docs/rest-api.md, section
 * "Clusters": `/clusters/{cluster}/jobs`, `history`, `submit-schema`) and
 * their models.
 */
import type { ServerConnection } from '@jupyterlab/services';
import type { JSONSchema7 } from 'json-schema';
import type {
  Answer,
  Assert,
  BodyOf,
  QueryOf,
  Reads
} from '../shared/contract';
import type * as wire from '../shared/openapi';
import { postBody, requestAPI } from '../shared/request';

export type {
  IJobInfo,
  IJobList,
  IJobSpec,
  IOutputChunk,
  IPartition
} from '../shared/openapi';

/**
 * Answer of `POST /clusters/{cluster}/jobs/test`: when the job would start
 * (`null`: unknown) and the scheduler's words; Slurm also says where.
 */
export type ITestResult = wire.IJobTest;

/**
 * Answer of `GET /clusters/{cluster}/submit-schema`: the contract's
 * `SubmitSchema`, its JSON Schema read as such.
 */
export interface ISubmitSchema extends Omit<wire.ISubmitSchema, 'schema'> {
  /** The JSON Schema of a job spec for this cluster. */
  schema: JSONSchema7;
}

/**
 * The output streams of a job.
 */
export type OutputStream = 'stdout' | 'stderr';

/**
 * The types above read what the contract says (see `shared/contract.ts`).
 */
export type JobsContract = [Assert<Reads<wire.ISubmitSchema, ISubmitSchema>>];

type Settings = ServerConnection.ISettings | undefined;

/**
 * `GET /clusters/{cluster}/jobs`: the user's jobs (or everyone's).
 */
export function listJobs(
  cluster: string,
  allUsers = false,
  settings?: Settings
): Promise<wire.IJobList> {
  return requestAPI<Answer<'listJobs'>>(
    ['clusters', cluster, 'jobs'],
    {},
    { all_users: allUsers ? '1' : '0' } satisfies QueryOf<'listJobs'>,
    settings
  );
}

/**
 * `POST /clusters/{cluster}/jobs`: submit a job.
 */
export function submitJob(
  cluster: string,
  spec: BodyOf<'submitJob'>,
  settings?: Settings
): Promise<wire.IJobInfo> {
  return requestAPI<Answer<'submitJob'>>(
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
  spec: BodyOf<'testJob'>,
  settings?: Settings
): Promise<ITestResult> {
  return requestAPI<Answer<'testJob'>>(
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
): Promise<wire.IJobInfo> {
  return requestAPI<Answer<'getJob'>>(
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
): Promise<wire.IJobInfo> {
  return requestAPI<Answer<'cancelJob'>>(
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
): Promise<wire.IJobInfo> {
  return requestAPI<Answer<'holdJob'>>(
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
): Promise<wire.IJobInfo> {
  return requestAPI<Answer<'releaseJob'>>(
    ['clusters', cluster, 'jobs', jobId, 'release'],
    postBody(),
    {},
    settings
  );
}

/**
 * `GET /clusters/{cluster}/jobs/{job_id}/resubmit`: the script and resources a
 * resubmit would send, for the submit dialog to show first.
 */
export function resubmitForm(
  cluster: string,
  jobId: string,
  settings?: Settings
): Promise<wire.IJobSpec> {
  return requestAPI<Answer<'resubmitForm'>>(
    ['clusters', cluster, 'jobs', jobId, 'resubmit'],
    {},
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
): Promise<wire.IJobInfo> {
  return requestAPI<Answer<'resubmitJob'>>(
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
): Promise<wire.IOutputChunk> {
  return requestAPI<Answer<'readJobOutput'>>(
    ['clusters', cluster, 'jobs', jobId, 'output'],
    {},
    {
      stream: options.stream ?? 'stdout',
      offset: options.offset ?? 0,
      limit: options.limit ?? 65536
    } satisfies QueryOf<'readJobOutput'>,
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
): Promise<wire.IJobInfo[]> {
  const data = await requestAPI<Answer<'listJobHistory'>>(
    ['clusters', cluster, 'history'],
    {},
    { days } satisfies QueryOf<'listJobHistory'>,
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
  return requestAPI<Answer<'getSubmitSchema'>>(
    ['clusters', cluster, 'submit-schema'],
    {},
    {},
    settings
  );
}
