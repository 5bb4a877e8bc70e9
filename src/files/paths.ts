/**
 * Pure path logic of the remote file browser: drive names, drive paths
 * (`home/run/out.txt`), absolute paths on the cluster and the cluster's roots,
 * and the conversion of the server's contents models into Lab's.
 */
import type { Contents } from '@jupyterlab/services';
import type { ISaveRequest } from '../shared/openapi';
import type { IRemoteModel } from './api';

/**
 * The prefix of every remote drive's name: `rpc-<cluster>`.
 */
export const DRIVE_PREFIX = 'rpc-';

/**
 * A root folder of a cluster's files with its resolved absolute path.
 */
export interface IResolvedRoot {
  /** The name shown at the top level (`home`, `scratch`). */
  name: string;
  /** The absolute path on the cluster (`/home/hpcuser`). */
  real: string;
}

/**
 * Lab's contents model with the absolute path on the cluster.
 */
export interface IRemoteContentsModel extends Contents.IModel {
  readonly real_path?: string;
}

/**
 * The drive name of a cluster.
 */
export function driveNameOf(cluster: string): string {
  return `${DRIVE_PREFIX}${cluster}`;
}

/**
 * The cluster of a drive name, or `null` for another drive.
 */
export function clusterOfDrive(driveName: string): string | null {
  return driveName.startsWith(DRIVE_PREFIX) && driveName.length > 4
    ? driveName.slice(DRIVE_PREFIX.length)
    : null;
}

/**
 * Split a global path (`rpc-hpc:home/a.txt`) into its drive name and local
 * path; a path without a drive has the drive name `''`.
 */
export function splitGlobalPath(path: string): {
  drive: string;
  path: string;
} {
  const first = path.split('/')[0];
  const colon = first.indexOf(':');
  if (colon < 0) {
    return { drive: '', path: normalizeDrivePath(path) };
  }
  return {
    drive: first.slice(0, colon),
    path: normalizeDrivePath(path.slice(colon + 1))
  };
}

/**
 * A drive path without leading/trailing slashes, empty and `.` parts, `..`
 * applied (never above the top level; the server checks the roots again).
 */
export function normalizeDrivePath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (!part || part === '.') {
      continue;
    }
    if (part === '..') {
      parts.pop();
      continue;
    }
    parts.push(part);
  }
  return parts.join('/');
}

/**
 * An absolute POSIX path without `.`/`..`, duplicate or trailing slashes.
 */
export function normalizeAbsolute(path: string): string {
  return '/' + normalizeDrivePath(path);
}

/**
 * The drive path of an absolute path on the cluster: under the root whose
 * real path is its longest prefix; `null` when it lies outside every root.
 */
export function toDrivePath(
  absolute: string,
  roots: ReadonlyArray<IResolvedRoot>
): string | null {
  if (!absolute.startsWith('/')) {
    return null;
  }
  const target = normalizeAbsolute(absolute);
  let best: IResolvedRoot | null = null;
  let bestReal = '';
  for (const root of roots) {
    if (!root.real.startsWith('/')) {
      continue;
    }
    const real = normalizeAbsolute(root.real);
    const inside =
      target === real || target.startsWith(real === '/' ? '/' : `${real}/`);
    if (inside && real.length > bestReal.length) {
      best = root;
      bestReal = real;
    }
  }
  if (!best) {
    return null;
  }
  const rest = target.slice(bestReal.length).replace(/^\/+/, '');
  return rest ? `${best.name}/${rest}` : best.name;
}

/**
 * The absolute path on the cluster of a drive path; `null` for the top level
 * or a path under an unknown root.
 */
export function toRealPath(
  drivePath: string,
  roots: ReadonlyArray<IResolvedRoot>
): string | null {
  const path = normalizeDrivePath(drivePath);
  if (!path) {
    return null;
  }
  const [name, ...rest] = path.split('/');
  const root = roots.find(r => r.name === name);
  if (!root || !root.real.startsWith('/')) {
    return null;
  }
  const base = normalizeAbsolute(root.real);
  if (!rest.length) {
    return base;
  }
  return base === '/' ? `/${rest.join('/')}` : `${base}/${rest.join('/')}`;
}

/**
 * The roots as the top level's listing shows them (each entry a root with its
 * `real_path`).
 */
export function rootsFromListing(
  listing: ReadonlyArray<IRemoteModel>
): IResolvedRoot[] {
  return listing
    .filter(entry => entry.real_path && entry.real_path.startsWith('/'))
    .map(entry => ({ name: entry.name, real: entry.real_path as string }));
}

/**
 * Whether a file is a batch script the jobs panel can submit.
 */
export function isJobScript(name: string): boolean {
  return /\.(sh|sbatch)$/i.test(name);
}

/**
 * The request path segments of a drive path (`home/a b` → `['home', 'a b']`).
 */
export function pathSegments(path: string): string[] {
  const normalized = normalizeDrivePath(path);
  return normalized ? normalized.split('/') : [];
}

const EPOCH = new Date(0).toISOString();

/**
 * Convert one model of the REST API into Lab's contents model: folders list
 * their entries converted, and every field Lab reads is present. With
 * `notebookAsJson`, a notebook that came as text is parsed.
 *
 * @throws {SyntaxError} when such a notebook's text is not JSON
 */
export function toContentsModel(
  model: IRemoteModel,
  options: { notebookAsJson?: boolean; readOnly?: boolean } = {}
): IRemoteContentsModel {
  const type = model.type;
  let format: Contents.FileFormat = model.format ?? null;
  let content: unknown = model.content ?? null;
  if (type === 'directory') {
    format = content === null ? null : 'json';
    if (Array.isArray(content)) {
      content = content.map(entry =>
        toContentsModel(entry as IRemoteModel, { readOnly: options.readOnly })
      );
    }
  } else if (type === 'notebook') {
    if (typeof content === 'string' && options.notebookAsJson) {
      content = JSON.parse(content);
      format = 'json';
    } else if (content !== null && typeof content === 'object') {
      format = 'json';
    }
  }
  const result: IRemoteContentsModel = {
    name: model.name,
    path: model.path,
    type,
    format: content === null && type !== 'directory' ? null : format,
    mimetype:
      model.mimetype ??
      (type === 'file' ? 'application/octet-stream' : (null as any)),
    content,
    size: model.size ?? undefined,
    // readOnly: the user may not change files here (no 'write' permission):
    // documents open read-only instead of failing at the first save.
    writable: (model.writable ?? true) && !options.readOnly,
    created: model.created ?? model.last_modified ?? EPOCH,
    last_modified: model.last_modified ?? EPOCH,
    hash: model.hash ?? undefined,
    hash_algorithm: model.hash_algorithm ?? undefined,
    real_path: model.real_path ?? ''
  };
  return result;
}

/**
 * The body of a save (`PUT files/{path}`): the model's type, format and
 * content, the upload's `chunk` number, and the time the client read the file
 * (`last_modified`, so the server refuses to overwrite a newer version).
 */
export function toSaveBody(
  options: Partial<Contents.IModel>,
  lastModified: string | undefined
): ISaveRequest {
  const body: ISaveRequest = {
    // Lab's content type is any string: the server refuses others (400).
    type: (options.type ?? 'file') as ISaveRequest['type'],
    format: options.format ?? (options.type === 'notebook' ? 'json' : 'text'),
    content: options.content ?? null
  };
  if (options.chunk !== undefined) {
    body.chunk = options.chunk;
  }
  if (lastModified) {
    body.last_modified = lastModified;
  }
  return body;
}
