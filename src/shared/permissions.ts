/**
 * What the user may do on this server, asked once per page so that the panels
 * disable what would be refused (with a tooltip naming the missing permission)
 * instead of answering a 403 after a form was filled in.
 *
 * The server checks every request itself (`@requires` in the handlers, listed
 * per route in docs/rest-api.md, Permissions): `read` to look, `write` to
 * change files or clusters and to stop things, `execute` to run code (calls,
 * job submissions and their start-time test). This is only what the panels
 * show.
 */
import { URLExt } from '@jupyterlab/coreutils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { ServerConnection } from '@jupyterlab/services';
import type { ISignal } from '@lumino/signaling';
import { Signal } from '@lumino/signaling';
import { sendRequest } from './request';
import { useSignals } from './hooks';

/**
 * The permissions the server extension's routes ask for (on the resource
 * `jupyter_rpc`).
 */
export type RPCAction = 'read' | 'write' | 'execute';

/**
 * Which of them the user has.
 */
export type IPermissions = Readonly<Record<RPCAction, boolean>>;

/**
 * The resource jupyter_server's authorizer is asked about.
 */
export const RPC_RESOURCE = 'jupyter_rpc';

const ACTIONS: readonly RPCAction[] = ['read', 'write', 'execute'];

/**
 * What the panels assume until the server said, or when it cannot say (the
 * server refuses anyway what is not allowed).
 */
export const ALL_ALLOWED: IPermissions = {
  read: true,
  write: true,
  execute: true
};

/**
 * The URL of jupyter_server's identity route asking for our permissions:
 * `{baseUrl}api/me?permissions={"jupyter_rpc":["read","write","execute"]}`.
 */
export function permissionsUrl(settings: ServerConnection.ISettings): string {
  const query = JSON.stringify({ [RPC_RESOURCE]: ACTIONS });
  return `${URLExt.join(settings.baseUrl, 'api', 'me')}?permissions=${encodeURIComponent(query)}`;
}

/**
 * The permissions in an answer of `GET /api/me` (`permissions.jupyter_rpc`,
 * the list of actions granted); an answer without that list (a server that
 * does not support the query) allows everything.
 */
export function parsePermissions(body: unknown): IPermissions {
  const granted = (body as { permissions?: Record<string, unknown> } | null)
    ?.permissions?.[RPC_RESOURCE];
  if (!Array.isArray(granted)) {
    return ALL_ALLOWED;
  }
  return {
    read: granted.includes('read'),
    write: granted.includes('write'),
    execute: granted.includes('execute')
  };
}

/**
 * Ask the server once; any failure (no network, an old server) gives
 * {@link ALL_ALLOWED}.
 */
export async function fetchPermissions(
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<IPermissions> {
  try {
    return parsePermissions(
      await sendRequest<unknown>(permissionsUrl(settings), {}, settings)
    );
  } catch (reason) {
    console.warn('jupyter-rpc: could not read the permissions', reason);
    return ALL_ALLOWED;
  }
}

/**
 * The permissions of this page: {@link ALL_ALLOWED} until {@link load} got
 * the server's answer, then that; `changed` fires once it is in.
 */
export class PermissionStore {
  constructor(
    private readonly _fetch: () => Promise<IPermissions> = fetchPermissions
  ) {}

  /** What the user may do, as far as known now. */
  get current(): IPermissions {
    return this._current;
  }

  /** Fired when the server's answer arrived. */
  get changed(): ISignal<this, IPermissions> {
    return this._changed;
  }

  /** Ask the server (once: later calls return the same promise). */
  load(): Promise<IPermissions> {
    if (!this._loading) {
      this._loading = this._fetch().then(found => {
        this._current = found;
        this._changed.emit(found);
        return found;
      });
    }
    return this._loading;
  }

  private _current: IPermissions = ALL_ALLOWED;
  private _loading: Promise<IPermissions> | null = null;
  private _changed = new Signal<this, IPermissions>(this);
}

/**
 * The one store of the page: every plugin reads it, the first to activate
 * loads it.
 */
export const permissions = new PermissionStore();

/**
 * The page's permissions in a React component (re-rendered when they arrive);
 * starts loading them if nothing did yet.
 */
export function usePermissions(
  store: PermissionStore = permissions
): IPermissions {
  useSignals(store.changed);
  void store.load();
  return store.current;
}

/**
 * Why a control is disabled: names the missing permission and what it
 * allows, for a tooltip or notice.
 */
export function missingPermissionText(
  action: RPCAction,
  trans: TranslationBundle
): string {
  switch (action) {
    case 'execute':
      return trans.__(
        "You may not run code on this server: the '%1' permission on %2 is missing. Ask your administrator.",
        action,
        RPC_RESOURCE
      );
    case 'write':
      return trans.__(
        "You may not change files or clusters on this server: the '%1' permission on %2 is missing. Ask your administrator.",
        action,
        RPC_RESOURCE
      );
    default:
      return trans.__(
        "You may not see this on this server: the '%1' permission on %2 is missing. Ask your administrator.",
        action,
        RPC_RESOURCE
      );
  }
}
