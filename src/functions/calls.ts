import type { ServerConnection } from '@jupyterlab/services';
import { Signal } from '@lumino/signaling';
import type { ISignal } from '@lumino/signaling';
import { hasCode } from '../shared/errors';
import { cancelCall, getCall, listCalls, startCall } from './api';
import { isFinished } from './api';
import type { ICall, ICallRequest } from './api';
import type { ICallsManager } from './tokens';

/**
 * Starts calls, follows them with long polls until they finish, cancels them,
 * and keeps this session's history.
 */
export class CallsManager implements ICallsManager {
  /**
   * Create a manager.
   */
  constructor(options: CallsManager.IOptions = {}) {
    this._serverSettings = options.serverSettings;
    this._historySize = options.historySize ?? 50;
    this._pollWait = options.pollWait ?? 20;
    this._startWait = options.startWait ?? 1;
  }

  get calls(): ReadonlyArray<ICall> {
    return this._calls;
  }

  get historySize(): number {
    return this._historySize;
  }
  set historySize(value: number) {
    this._historySize = Math.max(1, Math.floor(value));
    if (this._trim()) {
      this._changed.emit();
    }
  }

  get callChanged(): ISignal<ICallsManager, ICall> {
    return this._callChanged;
  }

  get changed(): ISignal<ICallsManager, void> {
    return this._changed;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  get(id: string): ICall | undefined {
    return this._calls.find(c => c.id === id);
  }

  startedAt(id: string): number | undefined {
    return this._startedAt.get(id);
  }

  async start(backend: string, request: ICallRequest): Promise<ICall> {
    const sent = Date.now();
    const call = await startCall(
      backend,
      { wait: this._startWait, ...request },
      this._serverSettings
    );
    this._startedAt.set(call.id, sent);
    this._calls = [call, ...this._calls];
    this._trim();
    this._changed.emit();
    this._callChanged.emit(call);
    if (!isFinished(call.state)) {
      void this._follow(call);
    }
    return call;
  }

  async load(id: string): Promise<ICall> {
    const known = this.get(id);
    if (known && (known.display || !isFinished(known.state))) {
      return known;
    }
    const call = await getCall(id, {}, this._serverSettings);
    if (this.get(id)) {
      this._update(call);
    } else {
      // Newest first, as started here.
      const index = this._calls.findIndex(c => c.created < call.created);
      this._calls = [...this._calls];
      this._calls.splice(index < 0 ? this._calls.length : index, 0, call);
      this._changed.emit();
      this._callChanged.emit(call);
      if (!isFinished(call.state)) {
        void this._follow(call);
      }
    }
    return this.get(id) ?? call;
  }

  async loadRecent(): Promise<void> {
    const { calls } = await listCalls(this._serverSettings);
    const known = new Set(this._calls.map(c => c.id));
    const added = calls.filter(c => !known.has(c.id));
    if (!added.length) {
      return;
    }
    this._calls = [...this._calls, ...added].sort((a, b) =>
      a.created < b.created ? 1 : a.created > b.created ? -1 : 0
    );
    this._trim();
    this._changed.emit();
    for (const call of added) {
      if (this.get(call.id) && !isFinished(call.state)) {
        void this._follow(call);
      }
    }
  }

  async cancel(id: string): Promise<ICall> {
    try {
      const call = await cancelCall(id, this._serverSettings);
      this._update(call);
      return call;
    } catch (reason) {
      if (hasCode(reason, 'call.finished')) {
        // It ended meanwhile: show how.
        const call = await getCall(id, {}, this._serverSettings);
        this._update(call);
        return call;
      }
      throw reason;
    }
  }

  clear(): void {
    const before = this._calls.length;
    this._calls = this._calls.filter(c => !isFinished(c.state));
    if (this._calls.length !== before) {
      this._changed.emit();
    }
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._abort.abort();
    Signal.clearData(this);
  }

  /**
   * Long-poll a call until it is finished (or this manager is disposed).
   */
  private async _follow(call: ICall): Promise<void> {
    let current = call;
    let failures = 0;
    while (!this._isDisposed && !isFinished(current.state)) {
      try {
        current = await getCall(
          current.id,
          {
            wait: this._pollWait,
            version: current.version,
            signal: this._abort.signal
          },
          this._serverSettings
        );
        failures = 0;
        this._update(current);
      } catch (reason) {
        if (this._isDisposed) {
          return;
        }
        if (hasCode(reason, 'call.not_found')) {
          this._update({
            ...current,
            state: 'failed',
            error: {
              code: 'call.not_found',
              reason: 'Not Found',
              message: reason instanceof Error ? reason.message : String(reason)
            }
          });
          return;
        }
        // Network hiccup or server restart: retry with a growing pause.
        failures += 1;
        await Private.sleep(Math.min(1000 * 2 ** (failures - 1), 15000));
      }
    }
  }

  /**
   * Store a newer model of a call and tell the views.
   */
  private _update(call: ICall): void {
    const index = this._calls.findIndex(c => c.id === call.id);
    if (index < 0) {
      return;
    }
    const old = this._calls[index];
    // Answers may cross (a cancel and a long poll): keep the newest.
    if (old.version > call.version && isFinished(old.state)) {
      return;
    }
    this._calls = [...this._calls];
    this._calls[index] = call;
    this._callChanged.emit(call);
    this._changed.emit();
  }

  /**
   * Drop the oldest finished calls beyond the history size.
   */
  private _trim(): boolean {
    let finished = 0;
    const kept = this._calls.filter(c => {
      if (!isFinished(c.state)) {
        return true;
      }
      finished += 1;
      return finished <= this._historySize;
    });
    const changed = kept.length !== this._calls.length;
    for (const c of this._calls) {
      if (!kept.includes(c)) {
        this._startedAt.delete(c.id);
      }
    }
    this._calls = kept;
    return changed;
  }

  private _serverSettings: ServerConnection.ISettings | undefined;
  private _historySize: number;
  private _pollWait: number;
  private _startWait: number;
  private _calls: ICall[] = [];
  private _startedAt = new Map<string, number>();
  private _abort = new AbortController();
  private _callChanged = new Signal<ICallsManager, ICall>(this);
  private _changed = new Signal<ICallsManager, void>(this);
  private _isDisposed = false;
}

/**
 * The namespace for `CallsManager` statics.
 */
export namespace CallsManager {
  /**
   * Options to create a manager.
   */
  export interface IOptions {
    /** Server settings (the page's by default). */
    serverSettings?: ServerConnection.ISettings;
    /** How many finished calls to keep (default 50). */
    historySize?: number;
    /** Long-poll `wait` in seconds (default 20). */
    pollWait?: number;
    /** `wait` of the starting POST, so short calls answer at once (default 1). */
    startWait?: number;
  }
}

/**
 * A namespace for private helpers.
 */
namespace Private {
  export function sleep(ms: number): Promise<void> {
    return new Promise(resolve => setTimeout(resolve, ms));
  }
}
