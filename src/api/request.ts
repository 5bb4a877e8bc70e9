import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import type { IErrorBody, IErrorDetails } from './types';

/**
 * The URL namespace of the server extension.
 */
export const API_NAMESPACE = 'jupyter-rpc';

/**
 * An error answer of the jupyter-rpc REST API, with its stable `code` and `details`.
 */
export class RPCRequestError extends ServerConnection.ResponseError {
  /**
   * Create an error from a response and its (already parsed) body.
   */
  constructor(response: Response, body: Partial<IErrorBody>) {
    super(
      response,
      body.message ||
        `Invalid response: ${response.status} ${response.statusText}`
    );
    this.name = 'RPCRequestError';
    this.code = body.code ?? 'unknown';
    this.details = body.details ?? null;
  }

  /**
   * Read the error body of a non-2xx response.
   */
  static async fromResponse(response: Response): Promise<RPCRequestError> {
    let body: Partial<IErrorBody> = {};
    try {
      const data: unknown = await response.json();
      if (data && typeof data === 'object') {
        body = data as Partial<IErrorBody>;
      }
    } catch {
      // Not JSON (a proxy's error page): keep the generic message.
    }
    return new RPCRequestError(response, body);
  }

  /**
   * Stable dotted identifier (`request.schema`, `backend.not_found`, ...).
   */
  readonly code: string;

  /**
   * Structured details, e.g. `errors: [{path, message}]` for `request.schema`.
   */
  readonly details: IErrorDetails | null;
}

/**
 * Call a route of the jupyter-rpc REST API and return its parsed JSON body.
 *
 * @param path - path segments below `{baseUrl}/jupyter-rpc/`
 * @param init - the fetch options
 * @param query - query parameters
 * @param settings - the server settings (defaults to the page's settings)
 * @throws {RPCRequestError} for a non-2xx answer
 * @throws {ServerConnection.NetworkError} when the server cannot be reached
 */
export async function requestAPI<T>(
  path: string[],
  init: RequestInit = {},
  query: Record<string, string | number> = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  let url = URLExt.join(
    settings.baseUrl,
    API_NAMESPACE,
    ...path.map(encodeURIComponent)
  );
  const search = Object.entries(query)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(`${v}`)}`)
    .join('&');
  if (search) {
    url += `?${search}`;
  }
  const response = await ServerConnection.makeRequest(url, init, settings);
  if (!response.ok) {
    throw await RPCRequestError.fromResponse(response);
  }
  const text = await response.text();
  return (text ? JSON.parse(text) : null) as T;
}

/**
 * Whether an error is an answer of the REST API with the given code.
 */
export function hasCode(error: unknown, code: string): boolean {
  return error instanceof RPCRequestError && error.code === code;
}
