/**
 * Typed calls of the compute-node kernels' routes of the REST API
 * (docs/kernels.md): the kernels being started (their jobs in the queue) and
 * Cancel; the notification's text.
 */
import type { ServerConnection } from '@jupyterlab/services';
import type { Answer, BodyOf } from '../shared/contract';
import type * as wire from '../shared/openapi';
import { requestAPI } from '../shared/request';

/**
 * A compute-node kernel being started: its cluster, job, state and the
 * scheduler's reason.
 */
export type IKernelStart = wire.IKernelStart;

type Settings = ServerConnection.ISettings | undefined;

/**
 * `GET /kernels/starting`: the kernels being started, oldest first.
 */
export async function listKernelStarts(
  settings?: Settings
): Promise<IKernelStart[]> {
  const data = await requestAPI<Answer<'listKernelStarts'>>(
    ['kernels', 'starting'],
    {},
    {},
    settings
  );
  return data.starts;
}

/**
 * `DELETE /kernels/starting/{kernel}`: cancel a start (its job is
 * cancelled; the kernel's start fails with "cancelled").
 */
export function cancelKernelStart(
  id: string,
  settings?: Settings
): Promise<IKernelStart> {
  return requestAPI<Answer<'cancelKernelStart'>>(
    ['kernels', 'starting', id],
    { method: 'DELETE' },
    {},
    settings
  );
}

/**
 * What the notification says: "Python 3 on testbed, debug: waiting in queue
 * debug, job 1234" (the scheduler's reason in parentheses when it gives one).
 */
export function startMessage(start: IKernelStart): string {
  const name = start.display_name;
  switch (start.state) {
    case 'submitting':
      return `${name}: submitting its job`;
    case 'pending': {
      const queue = start.partition ? `queue ${start.partition}` : 'the queue';
      const reason =
        start.reason && start.reason !== 'None' ? ` (${start.reason})` : '';
      return `${name}: waiting in ${queue}, job ${start.job_id}${reason}`;
    }
    default:
      return `${name}: job ${start.job_id} is running, the kernel is starting`;
  }
}

/**
 * Answer of `GET /clusters/{cluster}/kernel-profiles/{profile}`: the
 * profile's form and the values its start dialog opens with.
 */
export type IKernelProfileForm = wire.IKernelProfileForm;

/**
 * `GET /clusters/{cluster}/kernel-profiles/{profile}`.
 */
export function getKernelProfile(
  cluster: string,
  profile: string,
  settings?: Settings
): Promise<IKernelProfileForm> {
  return requestAPI<Answer<'getKernelProfile'>>(
    ['clusters', cluster, 'kernel-profiles', profile],
    {},
    {},
    settings
  );
}

/**
 * `PUT /clusters/{cluster}/kernel-profiles/{profile}`: keep the values the
 * profile's next kernels start with (checked as a job's: a refusal names
 * its field in `details.field`).
 */
export function setKernelProfileValues(
  cluster: string,
  profile: string,
  values: BodyOf<'setKernelProfileValues'>['values'],
  settings?: Settings
): Promise<IKernelProfileForm> {
  return requestAPI<Answer<'setKernelProfileValues'>>(
    ['clusters', cluster, 'kernel-profiles', profile],
    { method: 'PUT', body: JSON.stringify({ values }) },
    {},
    settings
  );
}

/**
 * Answer of `GET /clusters/{cluster}/kernel-env`: the cluster's kernel
 * environment, the user's own and the effective one.
 */
export type IKernelEnvironment = wire.IKernelEnvironment;

/**
 * `GET /clusters/{cluster}/kernel-env`.
 */
export function getKernelEnv(
  cluster: string,
  settings?: Settings
): Promise<IKernelEnvironment> {
  return requestAPI<Answer<'getKernelEnv'>>(
    ['clusters', cluster, 'kernel-env'],
    {},
    {},
    settings
  );
}

/**
 * `PUT /clusters/{cluster}/kernel-env` (`values` `null`: `DELETE`, the
 * cluster's environment again).
 */
export function setKernelEnv(
  cluster: string,
  values: BodyOf<'setKernelEnv'>['values'] | null,
  settings?: Settings
): Promise<IKernelEnvironment> {
  return requestAPI<Answer<'setKernelEnv'>>(
    ['clusters', cluster, 'kernel-env'],
    values === null
      ? { method: 'DELETE' }
      : { method: 'PUT', body: JSON.stringify({ values }) },
    {},
    settings
  );
}
