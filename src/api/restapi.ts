/**
 * One function per REST endpoint (docs/rest-api.md).
 */
import type { ServerConnection } from '@jupyterlab/services';
import { requestAPI } from './request';
import type { IBackend, ICall, ICallRequest, IFunctionList } from './types';

/**
 * `GET /backends`: the configured backends and their state.
 */
export async function listBackends(
  settings?: ServerConnection.ISettings
): Promise<IBackend[]> {
  const data = await requestAPI<{ backends: IBackend[] }>(
    ['backends'],
    {},
    {},
    settings
  );
  return data.backends;
}

/**
 * `GET /backends/{backend}`: one backend.
 */
export function getBackend(
  name: string,
  settings?: ServerConnection.ISettings
): Promise<IBackend> {
  return requestAPI<IBackend>(['backends', name], {}, {}, settings);
}

/**
 * `GET /backends/{backend}/functions`: its functions (starts the backend if needed).
 */
export function listFunctions(
  backend: string,
  settings?: ServerConnection.ISettings
): Promise<IFunctionList> {
  return requestAPI<IFunctionList>(
    ['backends', backend, 'functions'],
    {},
    {},
    settings
  );
}

/**
 * `POST /backends/{backend}/calls`: start a call.
 */
export function startCall(
  backend: string,
  request: ICallRequest,
  settings?: ServerConnection.ISettings
): Promise<ICall> {
  return requestAPI<ICall>(
    ['backends', backend, 'calls'],
    { method: 'POST', body: JSON.stringify(request) },
    {},
    settings
  );
}

/**
 * Options of {@link getCall}.
 */
export interface IGetCallOptions {
  /** Long poll: answer once the call's version exceeds `version` or after `wait` seconds. */
  wait?: number;
  version?: number;
  /** Abort the request (e.g. on dispose). */
  signal?: AbortSignal;
}

/**
 * `GET /calls/{id}[?wait=S&version=N]`: a call, optionally long-polled.
 */
export function getCall(
  id: string,
  options: IGetCallOptions = {},
  settings?: ServerConnection.ISettings
): Promise<ICall> {
  const query: Record<string, number> = {};
  if (options.wait !== undefined) {
    query.wait = options.wait;
    query.version = options.version ?? 0;
  }
  return requestAPI<ICall>(
    ['calls', id],
    { signal: options.signal },
    query,
    settings
  );
}

/**
 * `DELETE /calls/{id}`: cancel a call.
 */
export function cancelCall(
  id: string,
  settings?: ServerConnection.ISettings
): Promise<ICall> {
  return requestAPI<ICall>(['calls', id], { method: 'DELETE' }, {}, settings);
}
