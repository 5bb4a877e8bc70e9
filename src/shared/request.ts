/**
 * The one request helper of the front end: every REST call of every feature
 * (and the remote drive's) goes through {@link sendRequest}, so a non-2xx
 * answer is always an {@link RPCRequestError} with the server's `code`.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import type { APIPath } from './contract';
import { RPCRequestError } from './errors';

/**
 * The URL namespace of the server extension.
 */
export const API_NAMESPACE = 'jupyter-rpc';

/**
 * Query parameters of a request (an `undefined` one is left out).
 */
export type Query = Record<string, string | number | undefined>;

/**
 * The URL of a route: `{baseUrl}/jupyter-rpc/<segments>`, each segment encoded;
 * the segments are those of a route of the REST contract (see {@link APIPath}).
 */
export function apiUrl(
  path: APIPath,
  settings: ServerConnection.ISettings
): string {
  return URLExt.join(
    settings.baseUrl,
    API_NAMESPACE,
    ...path.map(encodeURIComponent)
  );
}

/**
 * A URL with query parameters appended (`url` unchanged when there are none).
 */
export function withQuery(url: string, query: Query = {}): string {
  const search = Object.entries(query)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(`${v}`)}`)
    .join('&');
  return search ? `${url}?${search}` : url;
}

/**
 * The fetch options of a `POST` with a JSON body (none when `body` is `undefined`).
 */
export function postBody(body?: unknown): RequestInit {
  return {
    method: 'POST',
    body: body === undefined ? undefined : JSON.stringify(body)
  };
}

/**
 * Send a request to a URL of the REST API and return its parsed JSON body
 * (`null` for an empty body).
 *
 * @throws {RPCRequestError} for a non-2xx answer
 * @throws {ServerConnection.NetworkError} when the server cannot be reached
 */
export async function sendRequest<T>(
  url: string,
  init: RequestInit,
  settings: ServerConnection.ISettings
): Promise<T> {
  const response = await ServerConnection.makeRequest(url, init, settings);
  if (!response.ok) {
    throw await RPCRequestError.fromResponse(response);
  }
  const text = await response.text();
  return (text ? JSON.parse(text) : null) as T;
}

/**
 * Call a route of the jupyter-rpc REST API and return its parsed JSON body.
 *
 * @param path - path segments below `{baseUrl}/jupyter-rpc/` of a route of
 *   the REST contract
 * @param init - the fetch options
 * @param query - query parameters
 * @param settings - the server settings (defaults to the page's settings)
 * @throws {RPCRequestError} for a non-2xx answer
 * @throws {ServerConnection.NetworkError} when the server cannot be reached
 */
export async function requestAPI<T>(
  path: APIPath,
  init: RequestInit = {},
  query: Query = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  return sendRequest<T>(
    withQuery(apiUrl(path, settings), query),
    init,
    settings
  );
}
