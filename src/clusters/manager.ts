import type { ServerConnection } from '@jupyterlab/services';
import { PromiseDelegate } from '@lumino/coreutils';
import { Signal } from '@lumino/signaling';
import type { ISignal } from '@lumino/signaling';
import { RPCRequestError } from '../shared/errors';
import {
  addCluster,
  answerPrompt,
  connect,
  getCluster,
  listClusters,
  removeCluster,
  trust
} from './api';
import type { IAuthPrompt, ICluster, IClusterConfig } from './api';
import { hostKeyOf } from './hostkey';
import type { IConnectionDialogs } from './dialogs';
import type { IClustersManager } from './tokens';

/**
 * The error codes {@link ClustersManager.withConnection} answers.
 */
export const CONNECTION_CODES = [
  'ssh.host_unknown',
  'ssh.auth_required',
  'ssh.host_key_changed'
];

/**
 * Fetches the clusters and resolves what a connection needs from the user.
 */
export class ClustersManager implements IClustersManager {
  constructor(options: ClustersManager.IOptions) {
    this._serverSettings = options.serverSettings;
    this._dialogs = options.dialogs;
  }

  get clusters(): ReadonlyArray<ICluster> {
    return this._clusters;
  }

  get error(): Error | null {
    return this._error;
  }

  get changed(): ISignal<IClustersManager, void> {
    return this._changed;
  }

  get ready(): Promise<void> {
    return this._ready.promise;
  }

  get serverSettings(): ServerConnection.ISettings | undefined {
    return this._serverSettings;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  get(name: string): ICluster | undefined {
    return this._clusters.find(c => c.name === name);
  }

  async refresh(): Promise<void> {
    if (this._refreshing) {
      return this._refreshing;
    }
    this._refreshing = (async () => {
      try {
        this._clusters = await listClusters(this._serverSettings);
        this._error = null;
      } catch (reason) {
        this._error = reason instanceof Error ? reason : new Error(`${reason}`);
      }
      this._ready.resolve();
      if (!this._isDisposed) {
        this._changed.emit();
      }
    })().finally(() => {
      this._refreshing = null;
    });
    return this._refreshing;
  }

  async refreshCluster(name: string): Promise<ICluster | undefined> {
    try {
      const model = await getCluster(name, this._serverSettings);
      this._update(model);
      return model;
    } catch (reason) {
      console.warn(`jupyter-rpc: cannot refresh cluster ${name}`, reason);
      return undefined;
    }
  }

  async connect(name: string): Promise<ICluster> {
    // An explicit request: ask again even if the user declined before.
    this._declined.delete(name);
    const model = await this.withConnection(name, () =>
      connect(name, this._serverSettings)
    );
    this._update(model);
    return model;
  }

  async withConnection<T>(cluster: string, fn: () => Promise<T>): Promise<T> {
    // A bound, in case a server keeps asking: each round needs the user anyway.
    for (let round = 0; ; round++) {
      try {
        return await fn();
      } catch (reason) {
        if (
          round >= Private.MAX_ROUNDS ||
          !(reason instanceof RPCRequestError) ||
          !CONNECTION_CODES.includes(reason.code)
        ) {
          throw reason;
        }
        if (this._declined.has(cluster)) {
          // The user said no: do not ask again on every poll.
          throw reason;
        }
        const resolved = await this._resolveOnce(cluster, reason);
        void this.refreshCluster(cluster);
        if (!resolved) {
          throw reason;
        }
      }
    }
  }

  async add(name: string, config: IClusterConfig): Promise<ICluster> {
    const model = await addCluster(name, config, this._serverSettings);
    await this.refresh();
    return model;
  }

  async remove(name: string): Promise<void> {
    await removeCluster(name, this._serverSettings);
    this._declined.delete(name);
    await this.refresh();
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    Signal.clearData(this);
  }

  /**
   * One dialog sequence per cluster at a time: calls failing together wait
   * for the first one's answer.
   */
  private _resolveOnce(
    cluster: string,
    error: RPCRequestError
  ): Promise<boolean> {
    const pending = this._resolving.get(cluster);
    if (pending) {
      return pending;
    }
    const promise = this._resolve(cluster, error).finally(() => {
      this._resolving.delete(cluster);
    });
    this._resolving.set(cluster, promise);
    return promise;
  }

  /**
   * Ask the user what the error needs; `true` when the call may be retried.
   */
  private async _resolve(
    cluster: string,
    error: RPCRequestError
  ): Promise<boolean> {
    let current = error;
    // The dialogs name the cluster as the user knows it.
    const model = this.get(cluster);
    const label = model?.display_name || cluster;
    for (let round = 0; round < Private.MAX_ROUNDS; round++) {
      const details = (current.details ?? {}) as Record<string, unknown>;
      let next: Promise<ICluster>;
      switch (current.code) {
        case 'ssh.host_unknown': {
          const key = hostKeyOf(details);
          if (!(await this._dialogs.askTrust(label, key))) {
            this._declined.add(cluster);
            return false;
          }
          next = trust(cluster, key.fingerprint, this._serverSettings);
          break;
        }
        case 'ssh.auth_required': {
          const prompt = Private.promptOf(details.prompt);
          if (!prompt) {
            return false;
          }
          const answers = await this._dialogs.askAuth(label, prompt);
          if (answers === null) {
            this._declined.add(cluster);
            return false;
          }
          next = answerPrompt(
            cluster,
            prompt.id,
            answers,
            this._serverSettings
          );
          break;
        }
        case 'ssh.host_key_changed':
          this._declined.add(cluster);
          await this._dialogs.showKeyChanged(
            label,
            current.message,
            hostKeyOf(details)
          );
          return false;
        default:
          // Another error while answering (e.g. `ssh.auth_failed`): the caller's.
          throw current;
      }
      try {
        this._update(await next);
        return true;
      } catch (reason) {
        if (
          reason instanceof RPCRequestError &&
          CONNECTION_CODES.includes(reason.code)
        ) {
          // The next prompt (two-factor), or a key after a jump host's.
          current = reason;
          continue;
        }
        throw reason;
      }
    }
    return false;
  }

  private _update(model: ICluster): void {
    if (this._isDisposed) {
      return;
    }
    const index = this._clusters.findIndex(c => c.name === model.name);
    if (index < 0) {
      this._clusters = [...this._clusters, model];
    } else {
      this._clusters = this._clusters.map((c, i) => (i === index ? model : c));
    }
    this._changed.emit();
  }

  private _serverSettings: ServerConnection.ISettings | undefined;
  private _dialogs: IConnectionDialogs;
  private _clusters: ICluster[] = [];
  private _error: Error | null = null;
  private _changed = new Signal<IClustersManager, void>(this);
  private _ready = new PromiseDelegate<void>();
  private _refreshing: Promise<void> | null = null;
  private _resolving = new Map<string, Promise<boolean>>();
  private _declined = new Set<string>();
  private _isDisposed = false;
}

/**
 * The namespace for `ClustersManager` statics.
 */
export namespace ClustersManager {
  /**
   * Options to create a manager.
   */
  export interface IOptions {
    /** Server settings (the page's by default). */
    serverSettings?: ServerConnection.ISettings;
    /** How to ask the user (trust, password, refusal). */
    dialogs: IConnectionDialogs;
  }
}

/**
 * A namespace for private helpers.
 */
namespace Private {
  export const MAX_ROUNDS = 5;

  /**
   * A prompt from an error's details, if it has the expected shape.
   */
  export function promptOf(value: unknown): IAuthPrompt | null {
    if (!value || typeof value !== 'object') {
      return null;
    }
    const p = value as Partial<IAuthPrompt>;
    if (typeof p.id !== 'string' || !Array.isArray(p.prompts)) {
      return null;
    }
    return {
      id: p.id,
      title: typeof p.title === 'string' ? p.title : '',
      instructions: typeof p.instructions === 'string' ? p.instructions : '',
      prompts: p.prompts.map(q => ({
        prompt: typeof q?.prompt === 'string' ? q.prompt : '',
        echo: q?.echo === true
      }))
    };
  }
}
