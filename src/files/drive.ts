/**
 * `RemoteDrive`: a `Contents.IDrive` over the files routes of one cluster
 * (docs/rest-api.md, "Clusters"), so `rpc-<cluster>:home/a.txt` opens in Lab's
 * editors, notebooks and viewers, and Lab's file browser works on it.
 */
import type { Contents } from '@jupyterlab/services';
import { ServerConnection } from '@jupyterlab/services';
import type { TranslationBundle } from '@jupyterlab/translation';
import { nullTranslator } from '@jupyterlab/translation';
import type { ISignal } from '@lumino/signaling';
import { Signal } from '@lumino/signaling';
import type { QueryOf } from '../shared/contract';
import { RPCRequestError } from '../shared/errors';
import { permissions } from '../shared/permissions';
import type { ICreateRequest } from '../shared/openapi';
import {
  copyFile,
  deleteFile,
  filesUrl,
  getFile,
  newUntitled,
  renameFile,
  saveFile
} from './api';
import type { IRemoteModel } from './api';
import {
  driveNameOf,
  normalizeDrivePath,
  rootsFromListing,
  toContentsModel,
  toDrivePath,
  toRealPath,
  toSaveBody
} from './paths';
import type { IRemoteContentsModel, IResolvedRoot } from './paths';

/**
 * Error codes that mean: the user was asked to trust a host or to log in,
 * and did not.
 */
const PROMPT_CODES = new Set(['ssh.host_unknown', 'ssh.auth_required']);

/**
 * A remote drive: one cluster's files.
 */
export class RemoteDrive implements Contents.IDrive {
  constructor(options: RemoteDrive.IOptions) {
    this.cluster = options.cluster;
    this.name = driveNameOf(options.cluster);
    this.serverSettings =
      options.serverSettings ?? ServerConnection.makeSettings();
    this._withConnection = options.withConnection ?? null;
    this._trans = (options.translator ?? nullTranslator).load('jupyter_rpc');
  }

  /** The cluster whose files this drive shows. */
  readonly cluster: string;

  /** `rpc-<cluster>`. */
  readonly name: string;

  readonly serverSettings: ServerConnection.ISettings;

  /** Emitted after every change made through this drive. */
  get fileChanged(): ISignal<this, Contents.IChangedArgs> {
    return this._fileChanged;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._seen.clear();
    Signal.clearData(this);
  }

  /**
   * The cluster's roots with their absolute paths, as the top level last
   * listed them (fetched when not known yet).
   */
  async roots(): Promise<IResolvedRoot[]> {
    if (!this._roots) {
      await this.get('', { content: true });
    }
    return this._roots ?? [];
  }

  /**
   * The drive path of an absolute path on the cluster (`null` outside the roots).
   */
  async drivePathOf(absolute: string): Promise<string | null> {
    return toDrivePath(absolute, await this.roots());
  }

  /**
   * The absolute path on the cluster of a drive path.
   */
  async realPathOf(path: string): Promise<string | null> {
    return toRealPath(path, await this.roots());
  }

  /**
   * Ask for host trust / passwords again (after the user declined once, the
   * drive stops asking so a polling file browser does not nag).
   */
  resetConnectionPrompts(): void {
    this._declined = false;
  }

  async get(
    localPath: string,
    options: Contents.IFetchOptions = {}
  ): Promise<Contents.IModel> {
    const path = normalizeDrivePath(localPath);
    const wantContent = options.content !== false;
    const query: QueryOf<'getContents'> = { content: wantContent ? '1' : '0' };
    if (options.type) {
      // Lab's content type is any string: the server refuses others (400).
      query.type = options.type as QueryOf<'getContents'>['type'];
    }
    if (wantContent && options.format) {
      query.format = options.format;
    }
    const data = await this._call(() =>
      getFile(this.cluster, path, query, this.serverSettings)
    );
    const model = toContentsModel(data, {
      readOnly: !permissions.current.write
    });
    if (path === '' && Array.isArray(data.content)) {
      this._roots = rootsFromListing(data.content as IRemoteModel[]);
    }
    if (model.type !== 'directory') {
      // What the client last read or was shown of this file: the save sends it
      // so the server refuses to overwrite a newer version (files.conflict).
      // Lab's document context compares it itself before saving and asks
      // ("File Changed": overwrite or revert); its metadata read right before
      // the save counts as seen, so "Overwrite" works.
      this._seen.set(path, model.last_modified);
    }
    return model;
  }

  async getDownloadUrl(localPath: string): Promise<string> {
    const url = new URL(
      filesUrl(
        this.cluster,
        'download',
        normalizeDrivePath(localPath),
        this.serverSettings
      )
    );
    let cookie = '';
    try {
      cookie = document.cookie;
    } catch {
      // A sandboxed page has no cookies.
    }
    const xsrf = cookie.match('\\b_xsrf=([^;]*)\\b');
    if (xsrf) {
      url.searchParams.append('_xsrf', xsrf[1]);
    }
    const { token, appendToken } = this.serverSettings;
    if (token && appendToken) {
      // A plain link sends no Authorization header: like Lab's websockets,
      // token-authenticated pages on another host pass the token in the URL.
      url.searchParams.append('token', token);
    }
    return url.toString();
  }

  async newUntitled(
    options: Contents.ICreateOptions = {}
  ): Promise<Contents.IModel> {
    let folder = normalizeDrivePath(options.path ?? '');
    if (!folder) {
      // Only the roots live at the top level (the launcher's "New Notebook"
      // while this drive's browser is the current one): use the first root.
      const top = await this._call(() =>
        getFile(this.cluster, '', { content: '1' }, this.serverSettings)
      );
      const roots = Array.isArray(top.content) ? top.content : [];
      folder = roots.length ? normalizeDrivePath(roots[0].path) : '';
    }
    const body: ICreateRequest = {
      // Lab's content type is any string: the server refuses others (400).
      type: (options.type ?? 'file') as ICreateRequest['type']
    };
    if (options.ext) {
      body.ext = options.ext;
    }
    const data = await this._call(() =>
      newUntitled(this.cluster, folder, body, this.serverSettings)
    );
    const model = toContentsModel(data, {
      readOnly: !permissions.current.write
    });
    this._fileChanged.emit({ type: 'new', oldValue: null, newValue: model });
    return model;
  }

  async delete(localPath: string): Promise<void> {
    const path = normalizeDrivePath(localPath);
    await this._call(() => deleteFile(this.cluster, path, this.serverSettings));
    this._forget(path);
    this._fileChanged.emit({
      type: 'delete',
      oldValue: { path },
      newValue: null
    });
  }

  async rename(
    oldLocalPath: string,
    newLocalPath: string
  ): Promise<Contents.IModel> {
    const path = normalizeDrivePath(oldLocalPath);
    const newPath = normalizeDrivePath(newLocalPath);
    const data = await this._call(() =>
      renameFile(this.cluster, path, newPath, this.serverSettings)
    );
    const model = toContentsModel(data, {
      readOnly: !permissions.current.write
    });
    const seen = this._seen.get(path);
    this._forget(path);
    if (seen !== undefined) {
      this._seen.set(newPath, model.last_modified);
    }
    this._fileChanged.emit({
      type: 'rename',
      oldValue: { path },
      newValue: model
    });
    return model;
  }

  async save(
    localPath: string,
    options: Partial<Contents.IModel> = {}
  ): Promise<Contents.IModel> {
    const path = normalizeDrivePath(localPath);
    // Uploads (they name the file, maybe in chunks) replace the file on
    // purpose; an editor's save must not overwrite a newer version.
    const isUpload = options.chunk !== undefined || options.name !== undefined;
    const lastModified = isUpload
      ? undefined
      : (options.last_modified ?? this._seen.get(path));
    const body = toSaveBody(options, lastModified);
    let data: IRemoteModel;
    try {
      data = await this._call(() =>
        saveFile(this.cluster, path, body, this.serverSettings)
      );
    } catch (error) {
      throw this._explainSaveError(error, path);
    }
    const model = toContentsModel(data, {
      readOnly: !permissions.current.write
    });
    const finished = options.chunk === undefined || options.chunk === -1;
    if (finished) {
      this._seen.set(path, model.last_modified);
      this._fileChanged.emit({ type: 'save', oldValue: null, newValue: model });
    }
    return model;
  }

  async copy(localPath: string, toLocalDir: string): Promise<Contents.IModel> {
    const data = await this._call(() =>
      copyFile(
        this.cluster,
        normalizeDrivePath(localPath),
        normalizeDrivePath(toLocalDir),
        this.serverSettings
      )
    );
    const model = toContentsModel(data, {
      readOnly: !permissions.current.write
    });
    this._fileChanged.emit({ type: 'new', oldValue: null, newValue: model });
    return model;
  }

  /**
   * Remote files keep no checkpoints: a save needs one to exist, so this is
   * a no-op that reports the file's time.
   */
  async createCheckpoint(
    localPath: string
  ): Promise<Contents.ICheckpointModel> {
    return {
      id: 'none',
      last_modified:
        this._seen.get(normalizeDrivePath(localPath)) ??
        new Date().toISOString()
    };
  }

  async listCheckpoints(
    localPath: string
  ): Promise<Contents.ICheckpointModel[]> {
    return [];
  }

  async restoreCheckpoint(
    localPath: string,
    checkpointID: string
  ): Promise<void> {
    throw new Error(
      this._trans.__(
        'Files on a cluster have no checkpoints; use "Reload from Disk" to load the version on the cluster.'
      )
    );
  }

  async deleteCheckpoint(
    localPath: string,
    checkpointID: string
  ): Promise<void> {
    // Nothing to delete.
  }

  /**
   * One request (a call of `./api`), through the clusters manager's
   * connection handling (host trust and password dialogs) unless the user
   * declined those already.
   */
  private async _call<T>(request: () => Promise<T>): Promise<T> {
    if (!this._withConnection || this._declined) {
      return request();
    }
    try {
      return await this._withConnection(request);
    } catch (error) {
      if (error instanceof RPCRequestError && PROMPT_CODES.has(error.code)) {
        this._declined = true;
      }
      throw error;
    }
  }

  /**
   * A save refused because the file changed on the cluster gets a message
   * that says what to do.
   */
  private _explainSaveError(error: unknown, path: string): unknown {
    if (error instanceof RPCRequestError && error.code === 'files.conflict') {
      return new RPCRequestError(error.response, {
        code: error.code,
        details: error.details,
        message: this._trans.__(
          '"%1" was changed on the cluster after you opened it, so it was not saved. Use "Reload from Disk" to load the version on the cluster, or "Save As…" to keep yours under another name.',
          path
        )
      });
    }
    return error;
  }

  private _forget(path: string): void {
    for (const key of [...this._seen.keys()]) {
      if (key === path || key.startsWith(`${path}/`)) {
        this._seen.delete(key);
      }
    }
  }

  private _fileChanged = new Signal<this, Contents.IChangedArgs>(this);
  private _isDisposed = false;
  private _roots: IResolvedRoot[] | null = null;
  private _seen = new Map<string, string>();
  private _withConnection: RemoteDrive.WithConnection | null;
  private _declined = false;
  private _trans: TranslationBundle;
}

/**
 * The namespace of `RemoteDrive`.
 */
export namespace RemoteDrive {
  /**
   * Runs a request, asking the user what the connection needs.
   */
  export type WithConnection = <T>(fn: () => Promise<T>) => Promise<T>;

  /**
   * The options of a remote drive.
   */
  export interface IOptions {
    /** The cluster's name. */
    cluster: string;
    /** The server settings (the page's by default). */
    serverSettings?: ServerConnection.ISettings;
    /** e.g. `fn => clusters.withConnection(cluster, fn)`. */
    withConnection?: WithConnection;
    /** The translator. */
    translator?: import('@jupyterlab/translation').ITranslator;
  }
}

export type { IRemoteContentsModel };
