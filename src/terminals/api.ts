/**
 * Typed calls of the terminal routes of the REST API (docs/terminals.md,
 * docs/rest-api.md) and the URL of a terminal's websocket.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import type { Answer, BodyOf } from '../shared/contract';
import type * as wire from '../shared/openapi';
import { API_NAMESPACE, postBody, requestAPI } from '../shared/request';

/**
 * An open terminal of a cluster, as the server describes it.
 */
export type ITerminalModel = wire.ITerminal;

type Settings = ServerConnection.ISettings | undefined;

/**
 * `POST /clusters/{cluster}/terminals`: open a terminal (a login shell), in
 * the drive folder `cwd` when given.
 */
export function openTerminal(
  cluster: string,
  options: { cwd?: string; cols?: number; rows?: number; job?: string } = {},
  settings?: Settings
): Promise<ITerminalModel> {
  const body: BodyOf<'openTerminal'> = { ...options };
  return requestAPI<Answer<'openTerminal'>>(
    ['clusters', cluster, 'terminals'],
    postBody(body),
    {},
    settings
  );
}

/**
 * `GET /clusters/{cluster}/terminals`: the open terminals of a cluster.
 */
export async function listTerminals(
  cluster: string,
  settings?: Settings
): Promise<ITerminalModel[]> {
  const data = await requestAPI<Answer<'listTerminals'>>(
    ['clusters', cluster, 'terminals'],
    {},
    {},
    settings
  );
  return data.terminals;
}

/**
 * `GET /clusters/{cluster}/terminals/{name}` (`terminal.not_found` once it ended).
 */
export function getTerminal(
  cluster: string,
  name: string,
  settings?: Settings
): Promise<ITerminalModel> {
  return requestAPI<Answer<'getTerminal'>>(
    ['clusters', cluster, 'terminals', name],
    {},
    {},
    settings
  );
}

/**
 * `DELETE /clusters/{cluster}/terminals/{name}`: end it (its shell is hung up).
 */
export async function endTerminal(
  cluster: string,
  name: string,
  settings?: Settings
): Promise<void> {
  await requestAPI<Answer<'endTerminal'>>(
    ['clusters', cluster, 'terminals', name],
    { method: 'DELETE' },
    {},
    settings
  );
}

/**
 * The websocket URL of a terminal (with the token when the settings append it).
 */
export function terminalSocketUrl(
  cluster: string,
  name: string,
  settings: ServerConnection.ISettings
): string {
  const url = URLExt.join(
    settings.wsUrl,
    API_NAMESPACE,
    'clusters',
    encodeURIComponent(cluster),
    'terminals',
    encodeURIComponent(name),
    'websocket'
  );
  return settings.appendToken && settings.token
    ? `${url}?token=${encodeURIComponent(settings.token)}`
    : url;
}
