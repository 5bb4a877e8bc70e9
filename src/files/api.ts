/**
 * Typed calls of a cluster's file routes (docs/rest-api.md, section
 * "Clusters": `/clusters/{cluster}/files/{path}` and `download/{path}`) and
 * the model they answer with. Paths are drive paths (`home/run/out.txt`, `''`
 * for the top level, which lists the cluster's roots).
 */
import type { Contents, ServerConnection } from '@jupyterlab/services';
import type {
  Answer,
  Assert,
  BodyOf,
  QueryOf,
  Reads
} from '../shared/contract';
import type * as wire from '../shared/openapi';
import { apiUrl, sendRequest, withQuery } from '../shared/request';
import { pathSegments } from './paths';

/**
 * A contents model as the drive reads it: the contract's `ContentsModel`
 * (every one is an `IRemoteModel`, with the same members), loosely, so that
 * a chunk's receipt (`ChunkReceived`) and Lab's own models read as one too.
 */
export interface IRemoteModel {
  name: string;
  path: string;
  type: string;
  format?: Contents.FileFormat;
  mimetype?: string | null;
  content?: unknown;
  size?: number | null;
  writable?: boolean;
  created?: string | null;
  last_modified?: string | null;
  hash?: string | null;
  hash_algorithm?: string | null;
  /** The absolute path on the cluster. */
  real_path?: string;
}

/**
 * The model above reads the contract's (see `shared/contract.ts`).
 */
export type FilesContract = [
  Assert<Reads<wire.IContentsModel, IRemoteModel>>,
  Assert<[wire.IChunkReceived] extends [IRemoteModel] ? true : false>
];

/**
 * The routes below `/clusters/{cluster}/` that take a drive path.
 */
export type FilesRoute = 'files' | 'download';

/**
 * The URL of a drive path below a route (`.../files/` for the top level).
 */
export function filesUrl(
  cluster: string,
  route: FilesRoute,
  path: string,
  settings: ServerConnection.ISettings
): string {
  const base = apiUrl(['clusters', cluster, route], settings);
  return `${base}/${pathSegments(path).map(encodeURIComponent).join('/')}`;
}

/**
 * `GET files/{path}?content=0|1[&type=&format=]`: a file's or a folder's model.
 */
export function getFile(
  cluster: string,
  path: string,
  query: QueryOf<'getContents'>,
  settings: ServerConnection.ISettings
): Promise<Answer<'getContents'>> {
  return Private.send('GET', cluster, path, settings, { query });
}

/**
 * `POST files/{folder}` with `{type, ext}`: a new untitled file or folder.
 */
export function newUntitled(
  cluster: string,
  folder: string,
  body: BodyOf<'createContents'>,
  settings: ServerConnection.ISettings
): Promise<Answer<'createContents'>> {
  return Private.send('POST', cluster, folder, settings, { body });
}

/**
 * `POST files/{folder}` with `{copy_from}`: a copy of a file in a folder.
 */
export function copyFile(
  cluster: string,
  path: string,
  toFolder: string,
  settings: ServerConnection.ISettings
): Promise<Answer<'createContents'>> {
  const body: BodyOf<'createContents'> = { copy_from: path };
  return Private.send('POST', cluster, toFolder, settings, { body });
}

/**
 * `DELETE files/{path}`.
 */
export async function deleteFile(
  cluster: string,
  path: string,
  settings: ServerConnection.ISettings
): Promise<void> {
  await Private.send<Answer<'deleteContents'>>(
    'DELETE',
    cluster,
    path,
    settings
  );
}

/**
 * `PATCH files/{path}` with `{path}`: rename or move.
 */
export function renameFile(
  cluster: string,
  path: string,
  newPath: string,
  settings: ServerConnection.ISettings
): Promise<Answer<'renameContents'>> {
  const body: BodyOf<'renameContents'> = { path: newPath };
  return Private.send('PATCH', cluster, path, settings, { body });
}

/**
 * `PUT files/{path}`: save (or upload a chunk: a receipt until the last one);
 * the body is `toSaveBody()`'s.
 */
export function saveFile(
  cluster: string,
  path: string,
  body: BodyOf<'saveContents'>,
  settings: ServerConnection.ISettings
): Promise<Answer<'saveContents'>> {
  return Private.send('PUT', cluster, path, settings, { body });
}

/**
 * A namespace for private helpers.
 */
namespace Private {
  /**
   * One request to `files/{path}`, its body sent as JSON.
   */
  export function send<T = wire.IContentsModel>(
    method: string,
    cluster: string,
    path: string,
    settings: ServerConnection.ISettings,
    options: { body?: unknown; query?: QueryOf<'getContents'> } = {}
  ): Promise<T> {
    const url = withQuery(
      filesUrl(cluster, 'files', path, settings),
      options.query
    );
    const init: RequestInit = { method };
    if (options.body !== undefined) {
      init.body = JSON.stringify(options.body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    return sendRequest<T>(url, init, settings);
  }
}
