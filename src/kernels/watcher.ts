/**
 * Follows the compute-node kernels being started and keeps one notification
 * per start, with a Cancel action; the notification goes when the start
 * ends (the kernel is up, or its start failed: Lab shows why).
 */
import type { KernelSpec } from '@jupyterlab/services';
import type { IKernelStart } from './api';
import { startMessage } from './api';

/**
 * What the watcher needs of JupyterLab's `Notification` (a fake in tests).
 */
export interface INotifier {
  /** Show `message` with a Cancel action; its id. */
  show(message: string, onCancel: () => void): string;
  /** Change the text of notification `id`. */
  update(id: string, message: string): void;
  /** Remove notification `id`. */
  dismiss(id: string): void;
}

/**
 * The routes the watcher calls (the real ones in `api.ts`).
 */
export interface IStartsAPI {
  list(): Promise<IKernelStart[]>;
  cancel(id: string): Promise<unknown>;
}

export class KernelStartWatcher {
  constructor(
    private _api: IStartsAPI,
    private _notifier: INotifier,
    private _onError: (reason: unknown) => void = () => undefined
  ) {}

  /**
   * The kernels being started now, by id.
   */
  get shown(): ReadonlyMap<string, { note: string; message: string }> {
    return this._shown;
  }

  /**
   * Ask the server once and bring the notifications up to date.
   */
  async tick(): Promise<void> {
    const starts = await this._api.list();
    const seen = new Set<string>();
    for (const start of starts) {
      seen.add(start.id);
      const message = startMessage(start);
      const known = this._shown.get(start.id);
      if (!known) {
        const note = this._notifier.show(message, () => {
          this._api.cancel(start.id).catch(this._onError);
        });
        this._shown.set(start.id, { note, message });
      } else if (known.message !== message) {
        this._notifier.update(known.note, message);
        known.message = message;
      }
    }
    for (const [id, known] of [...this._shown]) {
      if (!seen.has(id)) {
        this._notifier.dismiss(known.note);
        this._shown.delete(id);
      }
    }
  }

  /**
   * Remove every notification (the plugin stops watching).
   */
  clear(): void {
    for (const known of this._shown.values()) {
      this._notifier.dismiss(known.note);
    }
    this._shown.clear();
  }

  private _shown = new Map<string, { note: string; message: string }>();
}

/**
 * Whether any kernelspec runs its kernel in a batch job.
 */
export function hasJobKernels(
  specs: KernelSpec.ISpecModels | null | undefined
): boolean {
  return Object.values(specs?.kernelspecs ?? {}).some(spec => {
    const meta = spec?.metadata?.['jupyter_rpc'] as
      { where?: string } | undefined;
    return meta?.where === 'job';
  });
}
