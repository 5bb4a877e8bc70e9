import { Token } from '@lumino/coreutils';
import type { IDisposable } from '@lumino/disposable';
import type { ISignal } from '@lumino/signaling';
import type { IBackend, ICall, ICallRequest, IFunctionSpec } from './api';

/**
 * Loading state of a list fetched from the server.
 */
export type LoadStatus = 'idle' | 'loading' | 'ready' | 'error';

/**
 * The functions of one backend, as far as they are known.
 */
export interface IFunctionsState {
  status: LoadStatus;
  functions: ReadonlyArray<IFunctionSpec>;
  /** Why loading failed (`status === 'error'`). */
  error: Error | null;
}

/**
 * The configured backends and their (cached) function lists.
 */
export interface IBackendsManager extends IDisposable {
  /** Backends as last fetched. */
  readonly backends: ReadonlyArray<IBackend>;
  /** Loading state of the backend list. */
  readonly status: LoadStatus;
  /** Why loading the backend list failed. */
  readonly error: Error | null;
  /** Emitted whenever backends, their state or their functions change. */
  readonly changed: ISignal<IBackendsManager, void>;
  /** The functions of a backend (an `idle` state when never loaded). */
  functions(backend: string): IFunctionsState;
  /** One function spec, if loaded. */
  getFunction(backend: string, name: string): IFunctionSpec | undefined;
  /** Fetch the backends, then the functions of each (starting them if needed). */
  refresh(): Promise<void>;
  /** Fetch one backend's functions (cached unless `force`). */
  loadFunctions(backend: string, force?: boolean): Promise<void>;
  /** Fetch one backend's state. */
  refreshBackend(backend: string): Promise<void>;
}

/**
 * The backends manager token.
 */
export const IBackendsManager = new Token<IBackendsManager>(
  'jupyter-rpc:IBackendsManager',
  'The RPC backends configured on the server and their function schemas (cached). Use it to list remote functions.'
);

/**
 * The calls started in this browser session.
 */
export interface ICallsManager extends IDisposable {
  /** This session's calls, newest first, at most `historySize`. */
  readonly calls: ReadonlyArray<ICall>;
  /** How many calls to keep (running calls are always kept). */
  historySize: number;
  /** Emitted when a call's state, progress or result changes. */
  readonly callChanged: ISignal<ICallsManager, ICall>;
  /** Emitted when the list of calls changes (added, removed, updated). */
  readonly changed: ISignal<ICallsManager, void>;
  /** A call of this session. */
  get(id: string): ICall | undefined;
  /** When this browser started the call (ms since the epoch). */
  startedAt(id: string): number | undefined;
  /**
   * Start a call and follow it until it finishes.
   *
   * @throws {RPCRequestError} when the server refuses it (e.g. `request.schema`)
   */
  start(backend: string, request: ICallRequest): Promise<ICall>;
  /**
   * A call of this server, also one this page did not start (after a reload):
   * fetched with its result, kept in `calls` and followed until it ends.
   */
  load(id: string): Promise<ICall>;
  /**
   * Add the server's recent calls (`GET /calls`, without results) to `calls`,
   * so the history survives a reload; running ones are followed.
   */
  loadRecent(): Promise<void>;
  /** Cancel a call (`DELETE /calls/{id}`). */
  cancel(id: string): Promise<ICall>;
  /** Forget the finished calls. */
  clear(): void;
}

/**
 * The calls manager token.
 */
export const ICallsManager = new Token<ICallsManager>(
  'jupyter-rpc:ICallsManager',
  'Starts remote function calls, follows their progress with long polls and cancels them. Use it to call a remote function from an extension.'
);
