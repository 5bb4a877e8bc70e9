/**
 * Typed calls of the cluster routes of the REST API (docs/rest-api.md,
 * section "Clusters": the list, add/remove, connect, trust, auth) and their
 * models. The job routes below a cluster are in `jobs/api.ts`, its files in
 * `files/api.ts`.
 */
import type { ServerConnection } from '@jupyterlab/services';
import type { Answer, BodyOf } from '../shared/contract';
import type * as wire from '../shared/openapi';
import { postBody, requestAPI } from '../shared/request';

export type { ICluster } from '../shared/openapi';

/**
 * The SSH connection state of a cluster (`local` clusters are always `connected`).
 */
export type ClusterState = wire.ConnectionState;

/**
 * A keyboard-interactive / password prompt the server waits an answer for.
 */
export type IAuthPrompt = wire.IPrompt;

/**
 * A root folder of a cluster's files (`real`: its absolute path once resolved).
 */
export type IClusterRoot = wire.IRoot;

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
  /** The Python (with ipykernel) of the cluster's notebook kernels. */
  kernel_python?: string;
  /** A conda environment activated before the kernel (a name or a path). */
  kernel_conda_env?: string;
  /** Environment modules loaded before the kernel. */
  kernel_modules?: string[];
}

type Settings = ServerConnection.ISettings | undefined;

/**
 * `GET /clusters`: the site's and the user's clusters.
 */
export async function listClusters(
  settings?: Settings
): Promise<wire.ICluster[]> {
  const data = await requestAPI<Answer<'listClusters'>>(
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
): Promise<wire.ICluster> {
  return requestAPI<Answer<'getCluster'>>(
    ['clusters', cluster],
    {},
    {},
    settings
  );
}

/**
 * `POST /clusters`: add a user cluster.
 */
export function addCluster(
  name: string,
  config: IClusterConfig,
  settings?: Settings
): Promise<wire.ICluster> {
  const body: BodyOf<'addCluster'> = { ...config, name };
  return requestAPI<Answer<'addCluster'>>(
    ['clusters'],
    postBody(body),
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
  await requestAPI<Answer<'removeCluster'>>(
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
): Promise<wire.ICluster> {
  return requestAPI<Answer<'connectCluster'>>(
    ['clusters', cluster, 'connect'],
    postBody(),
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
): Promise<wire.ICluster> {
  const body: BodyOf<'trustHostKey'> = { fingerprint };
  return requestAPI<Answer<'trustHostKey'>>(
    ['clusters', cluster, 'trust'],
    postBody(body),
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
): Promise<wire.ICluster> {
  const body: BodyOf<'answerPrompt'> = { prompt_id: promptId, responses };
  return requestAPI<Answer<'answerPrompt'>>(
    ['clusters', cluster, 'auth'],
    postBody(body),
    {},
    settings
  );
}
