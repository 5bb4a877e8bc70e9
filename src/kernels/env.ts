/**
 * *Kernel Environment on a Cluster…* (docs/kernels.md): the Python, conda
 * environment and modules your kernels on a cluster start with, over the
 * cluster's own (a site's cluster too). Empty fields keep the cluster's,
 * shown as their placeholders; *Use the cluster's* forgets yours. A kernel
 * profile's own settings still apply in its jobs.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import type { ServerConnection } from '@jupyterlab/services';
import type { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import { moduleNames } from '../clusters/dialogs';
import { errorText, RPCRequestError } from '../shared/errors';
import type { IKernelEnvironment } from './api';
import { getKernelEnv, setKernelEnv } from './api';

/** What the dialog's fields hold (modules as typed). */
interface IEnvFields {
  kernel_python: string;
  kernel_conda_env: string;
  kernel_modules: string;
}

/** The dialog's body: three fields, the cluster's values as placeholders. */
class EnvBody extends Widget implements Dialog.IBodyWidget<IEnvFields> {
  constructor(
    env: IKernelEnvironment,
    label: string,
    problem: string,
    trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-rpc-ClusterDialog');
    this.addClass('jp-rpc-KernelEnv');
    if (problem) {
      const box = document.createElement('div');
      box.className = 'jp-rpc-ClusterDialog-problems';
      box.setAttribute('role', 'alert');
      box.textContent = problem;
      this.node.appendChild(box);
    }
    const intro = document.createElement('p');
    intro.textContent = trans.__(
      'Your notebook kernels on %1 start with these. An empty field keeps the cluster’s (shown in grey); a kernel profile’s own settings still apply in its jobs.',
      label
    );
    this.node.appendChild(intro);
    const form = document.createElement('form');
    form.addEventListener('submit', event => event.preventDefault());
    const site = env.site;
    const yours = env.yours;
    const field = (
      key: keyof IEnvFields,
      title: string,
      value: string,
      placeholder: string
    ) => {
      const row = document.createElement('label');
      row.className = 'jp-rpc-ClusterDialog-field';
      const span = document.createElement('span');
      span.textContent = title;
      row.appendChild(span);
      const input = document.createElement('input');
      input.className = 'jp-mod-styled';
      input.type = 'text';
      input.name = key;
      input.value = value;
      input.placeholder = placeholder;
      input.spellcheck = false;
      row.appendChild(input);
      form.appendChild(row);
      this._inputs.set(key, input);
    };
    field(
      'kernel_python',
      trans.__('Python'),
      yours.kernel_python ?? '',
      site.kernel_python ??
        (site.kernel_conda_env
          ? trans.__('the conda environment’s python')
          : 'python3')
    );
    field(
      'kernel_conda_env',
      trans.__('Conda environment'),
      yours.kernel_conda_env ?? '',
      site.kernel_conda_env ?? trans.__('none')
    );
    field(
      'kernel_modules',
      trans.__('Modules'),
      (yours.kernel_modules ?? []).join(', '),
      site.kernel_modules?.join(', ') || trans.__('none')
    );
    this.node.appendChild(form);
  }

  getValue(): IEnvFields {
    const get = (key: keyof IEnvFields) => this._inputs.get(key)?.value ?? '';
    return {
      kernel_python: get('kernel_python'),
      kernel_conda_env: get('kernel_conda_env'),
      kernel_modules: get('kernel_modules')
    };
  }

  private _inputs = new Map<keyof IEnvFields, HTMLInputElement>();
}

/**
 * Show the kernel environment of `cluster` (`label`: its display name) and
 * keep what the user chose; the environment kept, or `null` on Cancel.
 */
export async function editKernelEnv(
  cluster: string,
  label: string,
  trans: TranslationBundle,
  settings?: ServerConnection.ISettings
): Promise<IKernelEnvironment | null> {
  let env = await getKernelEnv(cluster, settings);
  let problem = '';
  for (;;) {
    const body = new EnvBody(env, label, problem, trans);
    const result = await showDialog({
      title: trans.__('Kernel environment on %1', label),
      body,
      focusNodeSelector: 'input',
      buttons: [
        Dialog.cancelButton({ label: trans.__('Cancel') }),
        Dialog.createButton({
          label: trans.__('Use the cluster’s'),
          displayType: 'default',
          actions: ['reset']
        }),
        Dialog.okButton({ label: trans.__('Save') })
      ]
    });
    const reset = result.button.actions.includes('reset');
    if (!result.button.accept && !reset) {
      return null;
    }
    const fields = result.value ?? body.getValue();
    try {
      return await setKernelEnv(
        cluster,
        reset
          ? null
          : {
              kernel_python: fields.kernel_python.trim() || null,
              kernel_conda_env: fields.kernel_conda_env.trim() || null,
              kernel_modules: moduleNames(fields.kernel_modules)
            },
        settings
      );
    } catch (reason) {
      problem = errorText(reason);
      if (reason instanceof RPCRequestError && !reset) {
        // asked again with what was typed, not what was kept
        env = {
          ...env,
          yours: {
            kernel_python: fields.kernel_python || undefined,
            kernel_conda_env: fields.kernel_conda_env || undefined,
            kernel_modules: moduleNames(fields.kernel_modules)
          }
        };
      } else {
        env = await getKernelEnv(cluster, settings).catch(() => env);
      }
    }
  }
}
