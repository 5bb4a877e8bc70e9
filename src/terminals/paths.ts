/**
 * A terminal's folder given as an absolute path on the cluster (a job's
 * folder, from the Jobs panel) as the drive path the server takes.
 */
import type { ServerConnection } from '@jupyterlab/services';
import { getFile } from '../files/api';
import type { IRemoteModel } from '../files/api';
import { rootsFromListing, toDrivePath } from '../files/paths';

/**
 * The drive path (`home/run`) of an absolute path on the cluster, from the
 * roots its files' top level lists; `null` outside every root.
 */
export async function drivePathOf(
  cluster: string,
  absolute: string,
  settings: ServerConnection.ISettings
): Promise<string | null> {
  const top = await getFile(cluster, '', { content: '1' }, settings);
  const listing = Array.isArray(top.content)
    ? (top.content as IRemoteModel[])
    : [];
  return toDrivePath(absolute, rootsFromListing(listing));
}
