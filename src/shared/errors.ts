/**
 * The one error shape of the jupyter-rpc REST API (docs/rest-api.md, "Errors"),
 * the error class a request throws for it, and the one text a person reads
 * for any error.
 */
import { ServerConnection } from '@jupyterlab/services';

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
 * Whether an error is an answer of the REST API with the given code.
 */
export function hasCode(error: unknown, code: string): boolean {
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
