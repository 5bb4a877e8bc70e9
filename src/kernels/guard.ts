/**
 * Which kernel starts need the start dialog of a kernel profile (values.tsx),
 * and the wrapper that puts the dialog in front of them. No JupyterLab code
 * is imported here, only its types.
 */
import type { KernelSpec } from '@jupyterlab/services';

/** A kernelspec of a kernel profile: its cluster and profile. */
export interface IProfileRef {
  cluster: string;
  profile: string;
  /** The kernelspec's display name. */
  displayName: string;
}

/** A kernelspec's `metadata.jupyter_rpc` (jupyter_rpc/kernels/specs.py). */
interface IClusterMeta {
  cluster?: unknown;
  where?: unknown;
  profile?: unknown;
}

/**
 * The profile of kernelspec `name` when it runs in a batch job (`where:
 * "job"`), else `null` (a login-node kernel, any other kernel, an unknown
 * name).
 */
export function profileOf(
  specs: KernelSpec.ISpecModels | null | undefined,
  name: string | undefined
): IProfileRef | null {
  const spec = name ? specs?.kernelspecs?.[name] : undefined;
  const meta = spec?.metadata?.['jupyter_rpc'] as IClusterMeta | undefined;
  if (
    !spec ||
    meta?.where !== 'job' ||
    typeof meta.cluster !== 'string' ||
    typeof meta.profile !== 'string'
  ) {
    return null;
  }
  return {
    cluster: meta.cluster,
    profile: meta.profile,
    displayName: spec.display_name
  };
}

/**
 * What {@link guardKernelStarts} wraps: `SessionContext`'s one step that
 * starts a session's kernel or changes it (`_changeKernel`, which its
 * `initialize`, `startKernel` and `changeKernel` all call).
 */
export interface IKernelChanging {
  _changeKernel?: (
    this: IStarting,
    model?: { name?: string }
  ) => Promise<unknown>;
}

/** The part of a `SessionContext` the guard reads. */
interface IStarting {
  session?: { kernel?: unknown } | null;
  isDisposed?: boolean;
}

/**
 * Put `confirm` in front of every start of a kernel profile's kernel made
 * through `proto` (`SessionContext.prototype`): `false` (Cancel) starts
 * nothing and leaves the session's kernel as it is. Returns whether the step
 * was found (a JupyterLab without it starts profiles with their last values,
 * as nbclient does).
 */
export function guardKernelStarts(
  proto: IKernelChanging,
  lookup: (name: string | undefined) => IProfileRef | null,
  confirm: (profile: IProfileRef) => Promise<boolean>
): boolean {
  const original = proto._changeKernel;
  if (typeof original !== 'function') {
    return false;
  }
  proto._changeKernel = async function (this: IStarting, model = {}) {
    const profile = lookup(model?.name);
    // Cancel, or the notebook closed while the dialog was open: start nothing
    if (profile && (!(await confirm(profile)) || this.isDisposed)) {
      return this.session?.kernel ?? null;
    }
    return original.call(this, model);
  };
  return true;
}
