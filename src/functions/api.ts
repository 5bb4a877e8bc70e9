/**
 * The backends and calls routes of the REST API (docs/rest-api.md): their
 * models and one function per endpoint.
 */
import type { ServerConnection } from '@jupyterlab/services';
import type { JSONSchema7 } from 'json-schema';
import type { IErrorBody } from '../shared/errors';
import { requestAPI } from '../shared/request';

/**
 * Lifecycle states of a backend.
 */
export type BackendState = 'stopped' | 'starting' | 'running' | 'failed';

/**
 * A configured RPC backend.
 */
export interface IBackend {
  name: string;
  display_name: string;
  description: string;
  transport: string;
  state: BackendState;
  error: IErrorBody | null;
  restarts: number;
}

/**
 * A function (or class method) a backend offers.
 */
export interface IFunctionSpec {
  /** `add`, or `Accumulator.add_all` for a method. */
  name: string;
  kind: 'function' | 'method';
  class_name: string | null;
  method: string | null;
  summary: string;
  description: string;
  /** JSON Schema of the call's `arguments` object. */
  schema: JSONSchema7;
  return_schema: JSONSchema7 | null;
}

/**
 * Answer of `GET /backends/{backend}/functions`.
 */
export interface IFunctionList {
  backend: string;
  functions: IFunctionSpec[];
}

/**
 * Body of `POST /backends/{backend}/calls`.
 */
export interface ICallRequest {
  function: string;
  arguments: Record<string, unknown>;
  /** Seconds; capped by the backend's configured timeout. */
  timeout?: number;
  /** Seconds to wait for the call to finish before answering (≤ 60). */
  wait?: number;
}

/**
 * States of a call; the last three are final.
 */
export type CallState =
  'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/**
 * Status of one progress node (deprogressapi's report shape).
 */
export type ProgressStatus = 'running' | 'success' | 'error';

/**
 * A node of a call's progress tree.
 */
export interface IProgressReport {
  report_id: string;
  status: ProgressStatus;
  step_message: string;
  /** Expected number of children; 0 means unknown. */
  steps: number;
  children: IProgressReport[];
}

/**
 * A MIME bundle, as shown by JupyterLab's rendermime.
 */
export type MimeBundle = Record<string, unknown>;

/**
 * A call resource.
 */
export interface ICall {
  id: string;
  backend: string;
  function: string;
  arguments: Record<string, unknown>;
  state: CallState;
  progress: IProgressReport | null;
  result?: unknown;
  display?: MimeBundle | null;
  error: IErrorBody | null;
  created: string;
  started: string | null;
  finished: string | null;
  duration: number | null;
  version: number;
}

/**
 * Whether a call state is final.
 */
export function isFinished(state: CallState): boolean {
  return state === 'succeeded' || state === 'failed' || state === 'cancelled';
}

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
