/**
 * Typed calls of the interactive apps' routes of the REST API (docs/apps.md,
 * docs/rest-api.md) and the URL of a session's proxy.
 */
import { ServerConnection } from '@jupyterlab/services';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { Answer, BodyOf } from '../shared/contract';
import type * as wire from '../shared/openapi';
import { postBody, requestAPI } from '../shared/request';

/**
 * An app users may launch (a template of `RPCApp.apps` or a built-in).
 */
export type IAppInfo = wire.IAppInfo;

/**
 * A launched app: its job's state and the path of its proxy.
 */
export type ISession = wire.ISession;

type Settings = ServerConnection.ISettings | undefined;

/**
 * `GET /apps`: the apps users may launch.
 */
export async function listApps(settings?: Settings): Promise<IAppInfo[]> {
  const data = await requestAPI<Answer<'listApps'>>(['apps'], {}, {}, settings);
  return data.apps;
}

/**
 * `GET /apps/{app}/form?cluster=`: the launch form (JSON Schema) on a cluster.
 */
export function appForm(
  app: string,
  cluster: string,
  settings?: Settings
): Promise<Record<string, unknown>> {
  return requestAPI<Record<string, unknown>>(
    ['apps', app, 'form'],
    {},
    { cluster },
    settings
  );
}

/**
 * `GET /sessions`: every session, as the scheduler says it is now.
 */
export async function listSessions(settings?: Settings): Promise<ISession[]> {
  const data = await requestAPI<Answer<'listSessions'>>(
    ['sessions'],
    {},
    {},
    settings
  );
  return data.sessions;
}

/**
 * `POST /sessions`: launch `app` on `cluster` with the form's `values`.
 */
export function launchSession(
  app: string,
  cluster: string,
  values: Record<string, unknown>,
  settings?: Settings
): Promise<ISession> {
  const body: BodyOf<'launchSession'> = { app, cluster, values };
  return requestAPI<Answer<'launchSession'>>(
    ['sessions'],
    postBody(body),
    {},
    settings
  );
}

/**
 * `GET /sessions/{id}`: one session now (`session.not_found` if unknown).
 */
export function getSession(id: string, settings?: Settings): Promise<ISession> {
  return requestAPI<Answer<'getSession'>>(['sessions', id], {}, {}, settings);
}

/**
 * `DELETE /sessions/{id}`: end a session (its job is cancelled).
 */
export function endSession(id: string, settings?: Settings): Promise<ISession> {
  return requestAPI<Answer<'endSession'>>(
    ['sessions', id],
    { method: 'DELETE' },
    {},
    settings
  );
}

/**
 * The absolute URL of a session's proxy (what an iframe shows): the server
 * gives its path, `{base_url}jupyter-rpc/sessions/{id}/proxy/`.
 */
export function proxyUrl(
  session: ISession,
  settings: ServerConnection.ISettings
): string {
  return new URL(session.url, settings.baseUrl).href;
}

/**
 * The time left as people read it: "1 h 05 min", "4 min", "" when unknown.
 */
export function formatTimeLeft(seconds: number | null): string {
  if (seconds === null || seconds === undefined) {
    return '';
  }
  const minutes = Math.max(0, Math.floor(seconds / 60));
  if (minutes < 60) {
    return `${minutes} min`;
  }
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/**
 * A session's state as its tab, its Jobs panel row and its picker say it.
 */
export function stateText(state: string, trans: TranslationBundle): string {
  switch (state) {
    case 'queued':
      return trans.__('Queued');
    case 'starting':
      return trans.__('Starting');
    case 'running':
      return trans.__('Running');
    default:
      return trans.__('Ended');
  }
}
