/**
 * The backends and calls routes of the REST API (docs/rest-api.md): their
 * models and one function per endpoint.
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
  BackendState,
  CallState,
  IBackend,
  ICall,
  ICallRequest
} from '../shared/openapi';

/**
 * A function (or class method) a backend offers: the contract's
 * `FunctionSpec`, its JSON Schemas read as such.
 */
export interface IFunctionSpec extends Omit<
  wire.IFunctionSpec,
  'schema' | 'return_schema'
> {
  /** JSON Schema of the call's `arguments` object. */
  schema: JSONSchema7;
  /** JSON Schema of the result (`{}` when the backend says nothing). */
  return_schema: JSONSchema7;
}

/**
 * Answer of `GET /backends/{backend}/functions`.
 */
export interface IFunctionList extends Omit<wire.IFunctionList, 'functions'> {
  functions: IFunctionSpec[];
}

/**
 * A node of a call's progress tree, as a backend reports it
 * (deprogressapi's shape: `status` is `running`, `success` or `error`):
 * every member may be missing.
 */
export type IProgressReport = wire.IProgress;

/**
 * A MIME bundle, as shown by JupyterLab's rendermime.
 */
export type MimeBundle = Record<string, unknown>;

/**
 * The types above read the contract's (see `shared/contract.ts`).
 */
export type FunctionsContract = [
  Assert<Reads<wire.IFunctionSpec, IFunctionSpec>>,
  Assert<Reads<wire.IFunctionList, IFunctionList>>
];

/**
 * Whether a call state is final.
 */
export function isFinished(state: wire.CallState): boolean {
  return state === 'succeeded' || state === 'failed' || state === 'cancelled';
}

/**
 * `GET /backends`: the configured backends and their state.
 */
export async function listBackends(
  settings?: ServerConnection.ISettings
): Promise<wire.IBackend[]> {
  const data = await requestAPI<Answer<'listBackends'>>(
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
): Promise<wire.IBackend> {
  return requestAPI<Answer<'getBackend'>>(['backends', name], {}, {}, settings);
}

/**
 * `GET /backends/{backend}/functions`: its functions (starts the backend if needed).
 */
export function listFunctions(
  backend: string,
  settings?: ServerConnection.ISettings
): Promise<IFunctionList> {
  return requestAPI<Answer<'listFunctions'>>(
    ['backends', backend, 'functions'],
    {},
    {},
    settings
  );
}

/**
 * `GET /calls`: this server's recent calls, newest first (without result).
 */
export function listCalls(
  settings?: ServerConnection.ISettings
): Promise<wire.ICallList> {
  return requestAPI<Answer<'listCalls'>>(['calls'], {}, {}, settings);
}

/**
 * `POST /backends/{backend}/calls`: start a call.
 */
export function startCall(
  backend: string,
  request: BodyOf<'startCall'>,
  settings?: ServerConnection.ISettings
): Promise<wire.ICall> {
  return requestAPI<Answer<'startCall'>>(
    ['backends', backend, 'calls'],
    postBody(request),
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
): Promise<wire.ICall> {
  const query: QueryOf<'getCall'> = {};
  if (options.wait !== undefined) {
    query.wait = options.wait;
    query.version = options.version ?? 0;
  }
  return requestAPI<Answer<'getCall'>>(
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
): Promise<wire.ICall> {
  return requestAPI<Answer<'cancelCall'>>(
    ['calls', id],
    { method: 'DELETE' },
    {},
    settings
  );
}
