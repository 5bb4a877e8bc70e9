/**
 * The kernel picker of a notebook on a cluster's drive (docs/kernels.md): a
 * notebook opened from a cluster's Remote files (`rpc-hpc:home/a.ipynb`)
 * offers that cluster's kernels first, in a group of their own above Lab's,
 * the login node's before the kernel profiles'. Lab builds the picker's
 * groups in `SessionContextDialogs.kernelOptions`; {@link clusterFirst}
 * reorders what it returns.
 */
import type { SessionContextDialogs } from '@jupyterlab/apputils';
import type { KernelSpec } from '@jupyterlab/services';

/** The picker's options, as Lab's `kernelOptions` returns them. */
export type KernelOptions = ReturnType<
  typeof SessionContextDialogs.kernelOptions
>;

/** A kernelspec's `metadata.jupyter_rpc` (jupyter_rpc/kernels/specs.py). */
interface IClusterMeta {
  cluster?: string;
  where?: string;
}

/**
 * The cluster of a notebook's path on a cluster's drive (`rpc-<cluster>:...`),
 * or `null` for any other path.
 */
export function clusterOfPath(path: string): string | null {
  const first = path.split('/')[0];
  const colon = first.indexOf(':');
  if (colon < 0) {
    return null;
  }
  const drive = first.slice(0, colon);
  return drive.startsWith('rpc-') && drive.length > 4 ? drive.slice(4) : null;
}

/**
 * The names of `cluster`'s kernelspecs: its login node's first, then its
 * kernel profiles' by display name.
 */
export function clusterSpecs(
  specs: KernelSpec.ISpecModels | null | undefined,
  cluster: string
): string[] {
  const mine = Object.values(specs?.kernelspecs ?? {}).filter(
    (spec): spec is KernelSpec.ISpecModel =>
      (spec?.metadata?.['jupyter_rpc'] as IClusterMeta | undefined)?.cluster ===
      cluster
  );
  const where = (spec: KernelSpec.ISpecModel) =>
    (spec.metadata?.['jupyter_rpc'] as IClusterMeta).where === 'login' ? 0 : 1;
  return mine
    .sort(
      (a, b) =>
        where(a) - where(b) || a.display_name.localeCompare(b.display_name)
    )
    .map(spec => spec.name);
}

/**
 * `options` with the kernelspecs named in `first` moved, in that order, to a
 * group of their own labelled `label` at the top; a group left empty goes.
 * Running kernels (`{id}` options) and the selection stay as they were.
 */
export function clusterFirst(
  options: KernelOptions,
  first: string[],
  label: string
): KernelOptions {
  if (!first.length || options.disabled) {
    return options;
  }
  type Option = KernelOptions['groups'][number]['options'][number];
  const found = new Map<string, Option>();
  const nameOf = (option: Option): string | null => {
    try {
      const choice = JSON.parse(option.value) as { name?: string } | null;
      return choice && typeof choice.name === 'string' ? choice.name : null;
    } catch {
      return null;
    }
  };
  const groups = options.groups
    .map(group => ({
      ...group,
      options: group.options.filter(option => {
        const name = nameOf(option);
        if (name !== null && first.includes(name)) {
          found.set(name, option);
          return false;
        }
        return true;
      })
    }))
    .filter(
      (group, i) =>
        group.options.length > 0 || options.groups[i].options.length === 0
    );
  const mine = first
    .map(name => found.get(name))
    .filter((option): option is Option => option !== undefined);
  if (!mine.length) {
    return options;
  }
  return { ...options, groups: [{ label, options: mine }, ...groups] };
}
