/**
 * A terminal connection (JupyterLab's `Terminal.ITerminalConnection`) to a
 * cluster's terminal: what Lab's own Terminal widget talks to.
 *
 * The wire messages are Lab's (`["stdin", text]`, `["set_size", rows, cols]`
 * out; `["setup", {}]`, `["stdout", text]`, `["disconnect", 1]` in). When the
 * socket drops (a network blip, a server restart) it reconnects with a growing
 * delay; the server replays the terminal's scrollback on each attach. A
 * terminal the server no longer has (`terminal.not_found`) ends the
 * connection.
 */
import type { ServerConnection, Terminal } from '@jupyterlab/services';
import type { JSONPrimitive } from '@lumino/coreutils';
import { Signal } from '@lumino/signaling';
import type { ISignal } from '@lumino/signaling';
import { hasCode } from '../shared/errors';
import { endTerminal, getTerminal, terminalSocketUrl } from './api';

/**
 * How often a dropped socket is reopened before the connection gives up.
 */
const RECONNECT_LIMIT = 8;

/**
 * Options of a {@link ClusterTerminalConnection}.
 */
export interface IClusterTerminalOptions {
  /** The cluster's name. */
  cluster: string;
  /** The terminal's name (from `POST .../terminals`). */
  name: string;
  /** The server settings (its `WebSocket` is used). */
  serverSettings: ServerConnection.ISettings;
}

/**
 * One browser connection to one terminal of a cluster.
 */
export class ClusterTerminalConnection implements Terminal.ITerminalConnection {
  constructor(options: IClusterTerminalOptions) {
    this.cluster = options.cluster;
    this.name = options.name;
    this.serverSettings = options.serverSettings;
    this._open();
  }

  /** The cluster of the terminal. */
  readonly cluster: string;
  /** The terminal's name on the server. */
  readonly name: string;
  /** The server settings. */
  readonly serverSettings: ServerConnection.ISettings;

  /** The model Lab's widget reads (`name`). */
  get model(): Terminal.IModel {
    return { name: this.name };
  }

  get messageReceived(): ISignal<this, Terminal.IMessage> {
    return this._messageReceived;
  }

  get connectionStatus(): Terminal.ConnectionStatus {
    return this._status;
  }

  get connectionStatusChanged(): ISignal<this, Terminal.ConnectionStatus> {
    return this._statusChanged;
  }

  get disposed(): ISignal<this, void> {
    return this._disposed;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * Send a message; queued while the socket is (re)connecting.
   */
  send(message: Terminal.IMessage): void {
    if (this._isDisposed || !message.content) {
      return;
    }
    if (this._status === 'connected' && this._ws) {
      this._ws.send(JSON.stringify([message.type, ...message.content]));
    } else {
      this._pending.push(message);
    }
  }

  /**
   * Open the socket again now (the retries start afresh).
   */
  reconnect(): Promise<void> {
    this._attempt = 0;
    return new Promise<void>((resolve, reject) => {
      const settle = (_: this, status: Terminal.ConnectionStatus): void => {
        if (status === 'connecting') {
          return;
        }
        this._statusChanged.disconnect(settle);
        if (status === 'connected') {
          resolve();
        } else {
          reject(new Error('The terminal connection was closed.'));
        }
      };
      this._statusChanged.connect(settle);
      this._open();
    });
  }

  /**
   * End the terminal on the server (its shell is hung up), then this connection.
   */
  async shutdown(): Promise<void> {
    try {
      await endTerminal(this.cluster, this.name, this.serverSettings);
    } catch (error) {
      if (!hasCode(error, 'terminal.not_found')) {
        throw error;
      }
    }
    this.dispose();
  }

  /**
   * Close the socket (the shell goes on running on the server).
   */
  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    clearTimeout(this._timer);
    this._closeSocket();
    this._setStatus('disconnected');
    this._disposed.emit();
    Signal.clearData(this);
  }

  private _open(): void {
    if (this._isDisposed) {
      return;
    }
    clearTimeout(this._timer);
    this._closeSocket();
    this._setStatus('connecting');
    const ws = new this.serverSettings.WebSocket(
      terminalSocketUrl(this.cluster, this.name, this.serverSettings)
    );
    this._ws = ws;
    ws.onmessage = (event: MessageEvent) => this._onMessage(event);
    ws.onclose = (event: CloseEvent) => this._onClose(event);
    ws.onerror = () => undefined; // a close follows
  }

  private _onMessage(event: MessageEvent): void {
    if (this._isDisposed) {
      return;
    }
    let data: unknown;
    try {
      data = JSON.parse(String(event.data));
    } catch {
      return;
    }
    if (!Array.isArray(data) || typeof data[0] !== 'string') {
      return;
    }
    const kind = data[0];
    if (kind === 'setup') {
      this._attempt = 0;
      this._setStatus('connected');
      const pending = this._pending.splice(0);
      pending.forEach(message => this.send(message));
      return;
    }
    if (kind === 'stdout' || kind === 'disconnect') {
      this._messageReceived.emit({
        type: kind,
        content: data.slice(1) as JSONPrimitive[]
      });
    }
    if (kind === 'disconnect') {
      this.dispose(); // the shell ended
    }
  }

  private _onClose(event: CloseEvent): void {
    if (this._isDisposed || event.target !== this._ws) {
      return;
    }
    this._ws = null;
    if (this._attempt >= RECONNECT_LIMIT) {
      this.dispose();
      return;
    }
    this._setStatus('connecting');
    const delay = this._attempt ? Math.min(30000, 500 * 2 ** this._attempt) : 0;
    this._attempt += 1;
    this._timer = setTimeout(() => void this._retry(), delay);
  }

  /**
   * Reopen the socket unless the server says the terminal is gone.
   */
  private async _retry(): Promise<void> {
    try {
      await getTerminal(this.cluster, this.name, this.serverSettings);
    } catch (error) {
      if (hasCode(error, 'terminal.not_found')) {
        this._messageReceived.emit({ type: 'disconnect', content: [1] });
        this.dispose();
        return;
      }
      // The server is unreachable: try again later (_onClose counts it).
    }
    this._open();
  }

  private _closeSocket(): void {
    const ws = this._ws;
    this._ws = null;
    if (ws) {
      ws.onmessage = null;
      ws.onclose = null;
      ws.onerror = null;
      ws.close();
    }
  }

  private _setStatus(status: Terminal.ConnectionStatus): void {
    if (status !== this._status) {
      this._status = status;
      this._statusChanged.emit(status);
    }
  }

  private _ws: WebSocket | null = null;
  private _status: Terminal.ConnectionStatus = 'connecting';
  private _attempt = 0;
  private _timer: ReturnType<typeof setTimeout> | undefined = undefined;
  private _pending: Terminal.IMessage[] = [];
  private _isDisposed = false;
  private _messageReceived = new Signal<this, Terminal.IMessage>(this);
  private _statusChanged = new Signal<this, Terminal.ConnectionStatus>(this);
  private _disposed = new Signal<this, void>(this);
}
