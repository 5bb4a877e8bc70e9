/**
 * A cluster's open terminals (issue 19): what `GET .../terminals` lists, kept
 * current while a view shows it (polled, and refreshed after a terminal is
 * opened or ended here), and ending one (`DELETE`).
 */
import type { ServerConnection } from '@jupyterlab/services';
import type { IDisposable } from '@lumino/disposable';
import { Signal } from '@lumino/signaling';
import type { ISignal } from '@lumino/signaling';
import { errorText, RPCRequestError } from '../shared/errors';
import { endTerminal, listTerminals } from '../terminals/api';
import type { ITerminalModel } from '../terminals/api';

/**
 * The command that shows an open terminal (`{cluster, name, cwd}`).
 */
export const ATTACH_TERMINAL = 'jupyter-rpc:attach-terminal';

/**
 * The open terminals of one cluster.
 */
export class ClusterTerminals implements IDisposable {
  constructor(options: ClusterTerminals.IOptions) {
    this.cluster = options.cluster;
    this._settings = options.settings;
    this._interval = options.interval ?? 10000;
  }

  /** The cluster's name. */
  readonly cluster: string;

  /** The open terminals, oldest first. */
  get terminals(): ReadonlyArray<ITerminalModel> {
    return this._terminals;
  }

  /** Why the last listing failed (`""`: it did not). */
  get error(): string {
    return this._error;
  }

  /** Emitted when the list or the error changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /**
   * List again (concurrent calls share one request).
   */
  refresh(): Promise<void> {
    if (!this._pending) {
      this._pending = this._list().finally(() => {
        this._pending = null;
      });
    }
    return this._pending;
  }

  /**
   * End a terminal (its shell is hung up); one that had already ended counts
   * as ended. Other errors go to the caller.
   */
  async end(name: string): Promise<void> {
    try {
      await endTerminal(this.cluster, name, this._settings());
    } catch (error) {
      if (
        !(error instanceof RPCRequestError) ||
        error.code !== 'terminal.not_found'
      ) {
        throw error;
      }
    }
    this._terminals = this._terminals.filter(t => t.name !== name);
    this._changed.emit();
    await this.refresh();
  }

  /**
   * Keep the list current while the returned disposable lives.
   */
  watch(): IDisposable {
    this._watchers += 1;
    if (this._watchers === 1) {
      void this.refresh();
      this._timer = setInterval(() => void this.refresh(), this._interval);
    }
    let done = false;
    return {
      get isDisposed() {
        return done;
      },
      dispose: () => {
        if (done) {
          return;
        }
        done = true;
        this._watchers -= 1;
        if (this._watchers === 0 && this._timer !== null) {
          clearInterval(this._timer);
          this._timer = null;
        }
      }
    };
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    if (this._timer !== null) {
      clearInterval(this._timer);
      this._timer = null;
    }
    Signal.clearData(this);
  }

  private async _list(): Promise<void> {
    let terminals = this._terminals;
    let error = '';
    try {
      terminals = [...(await listTerminals(this.cluster, this._settings()))];
      terminals.sort((a, b) => a.created - b.created);
    } catch (reason) {
      error = errorText(reason);
    }
    if (this._disposed) {
      return;
    }
    const same =
      error === this._error &&
      JSON.stringify(terminals) === JSON.stringify(this._terminals);
    this._terminals = terminals;
    this._error = error;
    if (!same) {
      this._changed.emit();
    }
  }

  private _settings: () => ServerConnection.ISettings | undefined;
  private _interval: number;
  private _terminals: ITerminalModel[] = [];
  private _error = '';
  private _pending: Promise<void> | null = null;
  private _watchers = 0;
  private _timer: ReturnType<typeof setInterval> | null = null;
  private _disposed = false;
  private _changed = new Signal<this, void>(this);
}

/**
 * The namespace of {@link ClusterTerminals}.
 */
export namespace ClusterTerminals {
  export interface IOptions {
    cluster: string;
    /** The server's settings (read at each request). */
    settings: () => ServerConnection.ISettings | undefined;
    /** Milliseconds between listings while watched (10 s). */
    interval?: number;
  }
}

/**
 * One `ClusterTerminals` per cluster name, shared by the views that show it.
 */
export class ClusterTerminalsRegistry implements IDisposable {
  constructor(settings: () => ServerConnection.ISettings | undefined) {
    this._settings = settings;
  }

  get(cluster: string): ClusterTerminals {
    let found = this._byCluster.get(cluster);
    if (!found) {
      found = new ClusterTerminals({ cluster, settings: this._settings });
      this._byCluster.set(cluster, found);
    }
    return found;
  }

  /** List a cluster's terminals again now (after one was opened). */
  refresh(cluster: string): void {
    void this._byCluster.get(cluster)?.refresh();
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    for (const t of this._byCluster.values()) {
      t.dispose();
    }
    this._byCluster.clear();
  }

  private _settings: () => ServerConnection.ISettings | undefined;
  private _byCluster = new Map<string, ClusterTerminals>();
  private _disposed = false;
}
