/**
 * What a cluster's scheduler can do (`capabilities` of `GET /clusters`,
 * docs/schedulers.md): the Jobs panel hides or disables what it lacks and says
 * why, in the words the notebook client uses (jupyter_rpc/notebook/client.py
 * `CAPABILITY_TEXT`).
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import type { ICluster, ISchedulerCapabilities } from '../shared/openapi';

/** One capability's name (`hold`, `history`, ...). */
export type Capability = keyof ISchedulerCapabilities;

/** The part of a cluster's description this needs. */
export type ICapableCluster = Pick<
  ICluster,
  'name' | 'display_name' | 'capabilities'
>;

/**
 * Whether the cluster's scheduler says it cannot do `capability` (a cluster
 * not known yet, or one that says nothing, lacks nothing).
 */
export function lacks(
  cluster: ICapableCluster | null | undefined,
  capability: Capability
): boolean {
  return cluster?.capabilities?.[capability] === false;
}

/**
 * Why `capability` is not offered on `cluster`: "Test bed's scheduler cannot
 * hold and release jobs."
 */
export function lackText(
  cluster: ICapableCluster | null | undefined,
  capability: Capability,
  trans: TranslationBundle
): string {
  const label = cluster?.display_name || cluster?.name || '';
  switch (capability) {
    case 'hold':
      return trans.__("%1's scheduler cannot hold and release jobs.", label);
    case 'arrays':
      return trans.__("%1's scheduler cannot run array jobs.", label);
    case 'history':
      return trans.__(
        "%1's scheduler keeps no accounting: it cannot list the jobs that ended.",
        label
      );
    case 'test_only':
      return trans.__(
        "%1's scheduler cannot tell when a job would start without submitting it.",
        label
      );
    case 'efficiency':
      return trans.__("%1's scheduler does not say what a job used.", label);
    case 'queues':
      return trans.__("%1's scheduler does not list its queues.", label);
    case 'workdir':
      return trans.__(
        "%1's scheduler cannot set a job's working folder: a job starts in your home folder.",
        label
      );
    default:
      return trans.__("%1's scheduler cannot do this (%2).", label, capability);
  }
}

/**
 * `lackText` when the cluster lacks `capability`, else `otherwise` (a title
 * for a button that is disabled for another reason, or none).
 */
export function lackTitle(
  cluster: ICapableCluster | null | undefined,
  capability: Capability,
  trans: TranslationBundle,
  otherwise?: string
): string | undefined {
  return lacks(cluster, capability)
    ? lackText(cluster, capability, trans)
    : otherwise;
}
