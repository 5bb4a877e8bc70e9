/**
 * Models of the jupyter-rpc REST API (see docs/rest-api.md).
 */
import type { JSONSchema7 } from 'json-schema';

/**
 * The one error body every non-2xx answer (and a failed call's `error`) has.
 */
export interface IErrorBody {
  /** Text for people. */
  message: string;
  /** HTTP reason phrase, when the body comes from an HTTP answer. */
  reason?: string;
  /** Stable dotted identifier for programs (`request.schema`, `call.timeout`, ...). */
  code: string;
  /** Optional structured data. */
  details?: IErrorDetails | null;
}

/**
 * Structured error details; all members are optional.
 */
export interface IErrorDetails {
  /** JSON Schema errors of a `request.schema` answer. */
  errors?: ISchemaError[];
  /** Exception class of a `call.remote_error`, when known. */
  error_type?: string;
  [key: string]: unknown;
}

/**
 * One JSON Schema validation error of the call arguments.
 */
export interface ISchemaError {
  /** Path of the offending value inside the arguments object. */
  path: Array<string | number>;
  /** The path as a dotted string (may be empty for the root). */
  field?: string;
  message: string;
}

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
