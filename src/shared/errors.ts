/**
 * The one error shape of the jupyter-rpc REST API (docs/rest-api.md, "Errors"),
 * the error class a request throws for it, and the one text a person reads
 * for any error.
 */
import { ServerConnection } from '@jupyterlab/services';
import type { Assert, Same } from './contract';
import type { ErrorCode, IErrorBody as IWireErrorBody } from './openapi';

export type { ErrorCode };

/**
 * The one error body every non-2xx answer (and the `error` of a failed call,
 * a failed backend or a cluster whose connection failed) has: the REST
 * contract's `ErrorBody`, its `details` read as {@link IErrorDetails}.
 */
export interface IErrorBody extends Omit<IWireErrorBody, 'details'> {
  /** Optional structured data. */
  details?: IErrorDetails;
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
 * What the body of an error answer may say: the server's {@link IErrorBody},
 * or any other JSON object (a proxy's), or nothing.
 */
export interface IErrorAnswer {
  message?: string;
  code?: string;
  details?: IErrorDetails | null;
}

/**
 * An error answer of the jupyter-rpc REST API, with its stable `code` and `details`.
 */
export class RPCRequestError extends ServerConnection.ResponseError {
  /**
   * Create an error from a response and its (already parsed) body.
   */
  constructor(response: Response, body: IErrorAnswer) {
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
    let body: IErrorAnswer = {};
    try {
      const data: unknown = await response.json();
      if (data && typeof data === 'object') {
        body = data as IErrorAnswer;
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
 * Whether an error is an answer of the REST API with the given code.
 */
export function hasCode(error: unknown, code: ErrorCode): boolean {
  return error instanceof RPCRequestError && error.code === code;
}

/**
 * The text a person reads for an error: its message (for an answer of the
 * REST API, the server's `message`, or `Invalid response: <status> <reason>`
 * when the body had none), a string as it is, anything else as `String()`
 * gives it.
 */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The error body above is the contract's (see `contract.ts`).
 */
export type ErrorsContract = [Assert<Same<IWireErrorBody, IErrorBody>>];
