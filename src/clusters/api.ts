/**
 * Typed calls of the cluster routes of the REST API (docs/rest-api.md,
 * section "Clusters": the list, add/remove, connect, trust, auth) and their
 * models. The job routes below a cluster are in `jobs/api.ts`, its files in
 * `files/api.ts`.
 */
import type { ServerConnection } from '@jupyterlab/services';
import type { IErrorBody } from '../shared/errors';
import { postBody, requestAPI } from '../shared/request';

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

type Settings = ServerConnection.ISettings | undefined;

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
    postBody({ ...config, name }),
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
): Promise<ICluster> {
  return requestAPI<ICluster>(
    ['clusters', cluster, 'trust'],
    postBody({ fingerprint }),
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
    postBody({ prompt_id: promptId, responses }),
    {},
    settings
  );
}
