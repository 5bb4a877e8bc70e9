import { Token } from '@lumino/coreutils';
import type { IDisposable } from '@lumino/disposable';
import type { ISignal } from '@lumino/signaling';
import type { ServerConnection } from '@jupyterlab/services';
import type { ICluster, IClusterConfig } from './api';

/**
 * The clusters configured on the server (site and user ones) and their
 * connection state; asks the user to trust a host key or to answer a
 * password prompt when a call needs it.
 */
export interface IClustersManager extends IDisposable {
  /** Clusters as last fetched. */
  readonly clusters: ReadonlyArray<ICluster>;
  /** Why fetching the list failed (`null` when it worked). */
  readonly error: Error | null;
  /** Emitted when the list or a cluster's state changes. */
  readonly changed: ISignal<IClustersManager, void>;
  /** Resolves once the list was fetched the first time. */
  readonly ready: Promise<void>;
  /** The server settings every request of this manager uses. */
  readonly serverSettings: ServerConnection.ISettings | undefined;
  /** Fetch the cluster list again. */
  refresh(): Promise<void>;
  /** A cluster by name, as last fetched. */
  get(name: string): ICluster | undefined;
  /** Fetch one cluster's state again. */
  refreshCluster(name: string): Promise<ICluster | undefined>;
  /**
   * Open a cluster's connection now (asking the user what it needs).
   */
  connect(name: string): Promise<ICluster>;
  /**
   * Run `fn` (a request to the cluster). When it fails because the host key
   * is unknown, ask the user to trust it and retry; when a password or
   * one-time code is needed, ask for it (never stored) and retry; a changed
   * host key is refused with a clear dialog. Other errors pass through;
   * when the user declines, the original error is thrown.
   */
  withConnection<T>(cluster: string, fn: () => Promise<T>): Promise<T>;
  /** Add a user cluster. */
  add(name: string, config: IClusterConfig): Promise<ICluster>;
  /** Remove a user cluster. */
  remove(name: string): Promise<void>;
}

/**
 * The clusters manager token.
 */
export const IClustersManager = new Token<IClustersManager>(
  'jupyter-rpc:IClustersManager',
  'The clusters (SSH hosts with a scheduler, or this computer) configured on the server and their connection state. Use withConnection() around cluster requests so unknown host keys and password prompts are asked of the user.'
);
