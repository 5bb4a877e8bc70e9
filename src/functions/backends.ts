import type { ServerConnection } from '@jupyterlab/services';
import { Signal } from '@lumino/signaling';
import type { ISignal } from '@lumino/signaling';
import { getBackend, listBackends, listFunctions } from './api';
import type { IBackend, IFunctionSpec } from './api';
import type { IBackendsManager, IFunctionsState, LoadStatus } from './tokens';

/**
 * Fetches the backends and caches their function schemas.
 */
export class BackendsManager implements IBackendsManager {
  /**
   * Create a manager.
   */
  constructor(options: BackendsManager.IOptions = {}) {
    this._serverSettings = options.serverSettings;
  }

  get backends(): ReadonlyArray<IBackend> {
    return this._backends;
  }

  get status(): LoadStatus {
    return this._status;
  }

  get error(): Error | null {
    return this._error;
  }

  get changed(): ISignal<IBackendsManager, void> {
    return this._changed;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  functions(backend: string): IFunctionsState {
    return this._functions.get(backend) ?? Private.IDLE;
  }

  getFunction(backend: string, name: string): IFunctionSpec | undefined {
    return this._functions.get(backend)?.functions.find(f => f.name === name);
  }

  async refresh(): Promise<void> {
    if (this._refreshing) {
      return this._refreshing;
    }
    this._refreshing = this._refresh().finally(() => {
      this._refreshing = null;
    });
    return this._refreshing;
  }

  async loadFunctions(backend: string, force = false): Promise<void> {
    const current = this._functions.get(backend);
    if (!force && current && current.status !== 'idle') {
      return;
    }
    this._setFunctions(backend, {
      status: 'loading',
      functions: current?.functions ?? [],
      error: null
    });
    try {
      const list = await listFunctions(backend, this._serverSettings);
      this._setFunctions(backend, {
        status: 'ready',
        functions: list.functions,
        error: null
      });
    } catch (reason) {
      this._setFunctions(backend, {
        status: 'error',
        functions: [],
        error: Private.asError(reason)
      });
    }
    // Loading the functions starts the backend: show its new state.
    await this.refreshBackend(backend);
  }

  async refreshBackend(backend: string): Promise<void> {
    try {
      const model = await getBackend(backend, this._serverSettings);
      if (this._isDisposed) {
        return;
      }
      this._backends = this._backends.map(b =>
        b.name === backend ? model : b
      );
      this._changed.emit();
    } catch (reason) {
      console.warn(`jupyter-rpc: cannot refresh backend ${backend}`, reason);
    }
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    Signal.clearData(this);
  }

  private async _refresh(): Promise<void> {
    this._status = 'loading';
    this._changed.emit();
    try {
      this._backends = await listBackends(this._serverSettings);
      this._status = 'ready';
      this._error = null;
    } catch (reason) {
      this._status = 'error';
      this._error = Private.asError(reason);
    }
    if (this._isDisposed) {
      return;
    }
    this._changed.emit();
    await Promise.all(
      this._backends.map(b => this.loadFunctions(b.name, true))
    );
  }

  private _setFunctions(backend: string, state: IFunctionsState): void {
    if (this._isDisposed) {
      return;
    }
    this._functions.set(backend, state);
    this._changed.emit();
  }

  private _serverSettings: ServerConnection.ISettings | undefined;
  private _backends: IBackend[] = [];
  private _status: LoadStatus = 'idle';
  private _error: Error | null = null;
  private _functions = new Map<string, IFunctionsState>();
  private _refreshing: Promise<void> | null = null;
  private _changed = new Signal<IBackendsManager, void>(this);
  private _isDisposed = false;
}

/**
 * The namespace for `BackendsManager` statics.
 */
export namespace BackendsManager {
  /**
   * Options to create a manager.
   */
  export interface IOptions {
    /** Server settings (the page's by default). */
    serverSettings?: ServerConnection.ISettings;
  }
}

/**
 * A namespace for private helpers.
 */
namespace Private {
  export const IDLE: IFunctionsState = {
    status: 'idle',
    functions: [],
    error: null
  };

  export function asError(reason: unknown): Error {
    return reason instanceof Error ? reason : new Error(String(reason));
  }
}
