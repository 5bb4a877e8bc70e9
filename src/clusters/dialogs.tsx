/**
 * The dialogs of a cluster connection: trust an unknown host key, answer a
 * password / one-time-code prompt, refuse a changed host key, add a cluster.
 *
 * Everything a server sends is shown as text (`textContent`), never as HTML.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import type { IAuthPrompt, IClusterConfig } from './api';

/**
 * What the manager asks of the user. An interface so tests can answer it.
 * `cluster` is the name shown to the user (its display name).
 */
export interface IConnectionDialogs {
  /** Ask whether to trust an unknown host key; `true` to trust it. */
  askTrust(cluster: string, key: IHostKey): Promise<boolean>;
  /** Ask the answers of a prompt (never stored); `null` when declined. */
  askAuth(cluster: string, prompt: IAuthPrompt): Promise<string[] | null>;
  /** Say that the host key changed and the connection is refused. */
  showKeyChanged(
    cluster: string,
    message: string,
    details: IHostKey
  ): Promise<void>;
}

export { hostKeyOf } from './hostkey';
export type { IHostKey } from './hostkey';
import type { IHostKey } from './hostkey';

/**
 * Build a DOM element with text content and a class.
 */
function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  className?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) {
    node.textContent = text;
  }
  if (className) {
    node.className = className;
  }
  return node;
}

/**
 * A definition list of `label: value` rows.
 */
function facts(rows: Array<[string, string]>): HTMLElement {
  const dl = el('dl', undefined, 'jp-rpc-ClusterDialog-facts');
  for (const [label, value] of rows) {
    dl.appendChild(el('dt', label));
    dl.appendChild(el('dd', value, 'jp-rpc-ClusterDialog-value'));
  }
  return dl;
}

/**
 * The body of the password / one-time-code dialog.
 */
class AuthBody extends Widget implements Dialog.IBodyWidget<string[]> {
  constructor(cluster: string, prompt: IAuthPrompt, trans: TranslationBundle) {
    super();
    this.addClass('jp-rpc-ClusterDialog');
    this.node.appendChild(
      el('p', trans.__('Cluster "%1" asks you to sign in.', cluster))
    );
    if (prompt.instructions) {
      this.node.appendChild(
        el('p', prompt.instructions, 'jp-rpc-ClusterDialog-instructions')
      );
    }
    const form = el('form');
    form.addEventListener('submit', event => event.preventDefault());
    prompt.prompts.forEach((question, i) => {
      const label = el('label', undefined, 'jp-rpc-ClusterDialog-field');
      label.appendChild(el('span', question.prompt || trans.__('Answer')));
      const input = el('input', undefined, 'jp-mod-styled');
      input.type = question.echo ? 'text' : 'password';
      input.autocomplete = question.echo ? 'off' : 'current-password';
      input.name = `answer-${i}`;
      input.spellcheck = false;
      label.appendChild(input);
      form.appendChild(label);
      this._inputs.push(input);
    });
    this.node.appendChild(form);
    this.node.appendChild(
      el(
        'p',
        trans.__('Your answer goes to the server once and is not stored.'),
        'jp-rpc-muted'
      )
    );
  }

  getValue(): string[] {
    const values = this._inputs.map(input => input.value);
    // Leave nothing behind in the page.
    for (const input of this._inputs) {
      input.value = '';
    }
    return values;
  }

  private _inputs: HTMLInputElement[] = [];
}

/**
 * The dialogs shown by the clusters manager.
 */
export class ConnectionDialogs implements IConnectionDialogs {
  constructor(trans: TranslationBundle) {
    this._trans = trans;
  }

  async askTrust(cluster: string, key: IHostKey): Promise<boolean> {
    const trans = this._trans;
    const body = new Widget();
    body.addClass('jp-rpc-ClusterDialog');
    body.node.appendChild(
      el(
        'p',
        trans.__(
          'The host of cluster "%1" is not known yet. Check its key fingerprint with your site\'s documentation or administrators before you trust it.',
          cluster
        )
      )
    );
    const where =
      key.port && key.port !== 22 ? `${key.host}:${key.port}` : key.host;
    body.node.appendChild(
      facts([
        [trans.__('Host'), where],
        [trans.__('Key type'), key.key_type],
        [trans.__('Fingerprint'), key.fingerprint]
      ])
    );
    const result = await showDialog({
      title: trans.__('Trust this host?'),
      body,
      buttons: [
        Dialog.cancelButton({ label: trans.__('Cancel') }),
        Dialog.warnButton({ label: trans.__('Trust and connect') })
      ]
    });
    return result.button.accept;
  }

  async askAuth(
    cluster: string,
    prompt: IAuthPrompt
  ): Promise<string[] | null> {
    const trans = this._trans;
    const result = await showDialog({
      title: prompt.title || trans.__('Sign in to %1', cluster),
      body: new AuthBody(cluster, prompt, trans),
      focusNodeSelector: 'input',
      buttons: [
        Dialog.cancelButton({ label: trans.__('Cancel') }),
        Dialog.okButton({ label: trans.__('Sign in') })
      ]
    });
    if (!result.button.accept || result.value === null) {
      return null;
    }
    return result.value;
  }

  async showKeyChanged(
    cluster: string,
    message: string,
    key: IHostKey
  ): Promise<void> {
    const trans = this._trans;
    const body = new Widget();
    body.addClass('jp-rpc-ClusterDialog');
    body.node.appendChild(
      el(
        'p',
        trans.__(
          'The host key of cluster "%1" is not the one you trusted before. Someone may be intercepting the connection, or the host was reinstalled. The connection is refused; ask your site administrators whether the key changed.',
          cluster
        ),
        'jp-rpc-ClusterDialog-warning'
      )
    );
    if (message) {
      body.node.appendChild(el('p', message));
    }
    const rows: Array<[string, string]> = [];
    if (key.host) {
      rows.push([trans.__('Host'), key.host]);
    }
    if (key.key_type) {
      rows.push([trans.__('Key type'), key.key_type]);
    }
    if (key.fingerprint) {
      rows.push([trans.__('Fingerprint offered'), key.fingerprint]);
    }
    if (rows.length) {
      body.node.appendChild(facts(rows));
    }
    await showDialog({
      title: trans.__('Host key changed: connection refused'),
      body,
      buttons: [Dialog.okButton({ label: trans.__('Close') })]
    });
  }

  private _trans: TranslationBundle;
}

/**
 * The values of the "Add cluster" form.
 */
export interface IAddClusterValues {
  name: string;
  display_name: string;
  host: string;
  port: string;
  user: string;
  identity_file: string;
  jump: string;
  workdir: string;
  agent: boolean;
  scheduler: 'slurm' | 'none';
  /** The kernels' Python (empty: `python3`, or the conda environment's). */
  kernel_python: string;
  kernel_conda_env: string;
  /** Module names, separated by commas or spaces. */
  kernel_modules: string;
}

/**
 * An empty "Add cluster" form.
 */
export const EMPTY_CLUSTER: IAddClusterValues = {
  name: '',
  display_name: '',
  host: '',
  port: '',
  user: '',
  identity_file: '',
  jump: '',
  workdir: '',
  agent: true,
  scheduler: 'slurm',
  kernel_python: '',
  kernel_conda_env: '',
  kernel_modules: ''
};

/**
 * Check the form; the problems as text (empty when fine).
 */
export function validateCluster(
  values: IAddClusterValues,
  trans: TranslationBundle
): string[] {
  const problems: string[] = [];
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(values.name.trim())) {
    problems.push(
      trans.__(
        'Name: letters, digits, ".", "_" or "-", starting with a letter or digit.'
      )
    );
  }
  if (!values.host.trim()) {
    problems.push(
      trans.__(
        'Host: required (a name or an address; your own clusters do not read an SSH config).'
      )
    );
  }
  const port = values.port.trim();
  if (port && !(/^\d+$/.test(port) && +port > 0 && +port < 65536)) {
    problems.push(trans.__('Port: a number from 1 to 65535.'));
  }
  return problems;
}

/**
 * Module names as typed: separated by commas or spaces (`module load` takes
 * each as one word).
 */
export function moduleNames(text: string): string[] {
  return text.split(/[\s,]+/).filter(Boolean);
}

/**
 * The cluster config the form describes.
 */
export function clusterConfigOf(values: IAddClusterValues): IClusterConfig {
  const config: IClusterConfig = {
    host: values.host.trim(),
    scheduler: values.scheduler
  };
  if (values.port.trim()) {
    config.port = Number(values.port.trim());
  }
  if (values.user.trim()) {
    config.user = values.user.trim();
  }
  if (values.identity_file.trim()) {
    config.identity_file = values.identity_file.trim();
  }
  const jump = values.jump
    .split(',')
    .map(s => s.trim())
    .filter(Boolean);
  if (jump.length) {
    config.jump = jump;
  }
  if (values.workdir.trim()) {
    config.workdir = values.workdir.trim();
  }
  if (!values.agent) {
    config.agent = false;
  }
  if (values.display_name.trim()) {
    config.display_name = values.display_name.trim();
  }
  if (values.kernel_python.trim()) {
    config.kernel_python = values.kernel_python.trim();
  }
  if (values.kernel_conda_env.trim()) {
    config.kernel_conda_env = values.kernel_conda_env.trim();
  }
  const modules = moduleNames(values.kernel_modules);
  if (modules.length) {
    config.kernel_modules = modules;
  }
  return config;
}

/**
 * The body of the "Add cluster" dialog.
 */
class AddClusterBody
  extends Widget
  implements Dialog.IBodyWidget<IAddClusterValues>
{
  constructor(
    values: IAddClusterValues,
    problems: string[],
    trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-rpc-ClusterDialog');
    this.addClass('jp-rpc-AddCluster');
    if (problems.length) {
      const box = el('div', undefined, 'jp-rpc-ClusterDialog-problems');
      box.setAttribute('role', 'alert');
      for (const p of problems) {
        box.appendChild(el('p', p));
      }
      this.node.appendChild(box);
    }
    const form = el('form');
    form.addEventListener('submit', event => event.preventDefault());
    const text = (
      key: Exclude<keyof IAddClusterValues, 'scheduler' | 'agent'>,
      label: string,
      placeholder: string,
      parent: HTMLElement = form
    ): void => {
      const row = el('label', undefined, 'jp-rpc-ClusterDialog-field');
      row.appendChild(el('span', label));
      const input = el('input', undefined, 'jp-mod-styled');
      input.type = 'text';
      input.name = key;
      input.value = values[key];
      input.placeholder = placeholder;
      input.spellcheck = false;
      row.appendChild(input);
      parent.appendChild(row);
      this._inputs.set(key, input);
    };
    text('name', trans.__('Name'), 'mycluster');
    text('display_name', trans.__('Display name'), trans.__('optional'));
    text('host', trans.__('Host'), 'login.example.org');
    text('port', trans.__('Port'), '22');
    text(
      'user',
      trans.__('User'),
      trans.__('default: your user name on this server')
    );
    text('identity_file', trans.__('Identity file'), '~/.ssh/id_ed25519');
    text('jump', trans.__('Jump hosts'), 'user@gateway:22, …');
    text(
      'workdir',
      trans.__('Working folder'),
      trans.__('~ (where jobs start)')
    );
    const agentRow = el('label', undefined, 'jp-rpc-ClusterDialog-field');
    agentRow.appendChild(el('span', trans.__('SSH agent')));
    const agent = el('input');
    agent.type = 'checkbox';
    agent.name = 'agent';
    agent.checked = values.agent;
    agent.title = trans.__('Use the keys of your SSH agent too');
    agentRow.appendChild(agent);
    form.appendChild(agentRow);
    this._agent = agent;
    const row = el('label', undefined, 'jp-rpc-ClusterDialog-field');
    row.appendChild(el('span', trans.__('Scheduler')));
    const select = el('select', undefined, 'jp-mod-styled');
    select.name = 'scheduler';
    for (const [value, label] of [
      ['slurm', trans.__('Slurm')],
      ['none', trans.__('None (files only)')]
    ]) {
      const option = el('option', label);
      option.value = value;
      select.appendChild(option);
    }
    select.value = values.scheduler;
    row.appendChild(select);
    form.appendChild(row);
    this._select = select;
    const kernels = el('fieldset', undefined, 'jp-rpc-ClusterDialog-group');
    kernels.appendChild(
      el('legend', trans.__('Notebook kernels on this cluster'))
    );
    form.appendChild(kernels);
    text(
      'kernel_python',
      trans.__('Python'),
      trans.__('python3, or a path such as ~/venv/bin/python'),
      kernels
    );
    text(
      'kernel_conda_env',
      trans.__('Conda environment'),
      trans.__('optional: a name or a path'),
      kernels
    );
    text(
      'kernel_modules',
      trans.__('Modules'),
      trans.__('optional: python/3.11, cuda'),
      kernels
    );
    this.node.appendChild(form);
  }

  getValue(): IAddClusterValues {
    const get = (key: string): string => this._inputs.get(key)?.value ?? '';
    return {
      name: get('name'),
      display_name: get('display_name'),
      host: get('host'),
      port: get('port'),
      user: get('user'),
      identity_file: get('identity_file'),
      jump: get('jump'),
      workdir: get('workdir'),
      agent: this._agent.checked,
      scheduler: this._select.value === 'none' ? 'none' : 'slurm',
      kernel_python: get('kernel_python'),
      kernel_conda_env: get('kernel_conda_env'),
      kernel_modules: get('kernel_modules')
    };
  }

  private _agent: HTMLInputElement;
  private _inputs = new Map<string, HTMLInputElement>();
  private _select: HTMLSelectElement;
}

/**
 * Show the "Add cluster" form; `null` when cancelled.
 */
export async function showAddClusterDialog(
  trans: TranslationBundle,
  values: IAddClusterValues = EMPTY_CLUSTER,
  problems: string[] = []
): Promise<IAddClusterValues | null> {
  const result = await showDialog({
    title: trans.__('Add a cluster'),
    body: new AddClusterBody(values, problems, trans),
    focusNodeSelector: 'input',
    buttons: [
      Dialog.cancelButton({ label: trans.__('Cancel') }),
      Dialog.okButton({ label: trans.__('Add') })
    ]
  });
  return result.button.accept ? result.value : null;
}

/**
 * Ask before removing a user cluster.
 */
export async function confirmRemoveCluster(
  trans: TranslationBundle,
  label: string
): Promise<boolean> {
  const result = await showDialog({
    title: trans.__('Remove cluster?'),
    body: trans.__(
      'Remove "%1" from your clusters? Its jobs and files on the cluster are not touched.',
      label
    ),
    buttons: [
      Dialog.cancelButton({ label: trans.__('Keep') }),
      Dialog.warnButton({ label: trans.__('Remove') })
    ]
  });
  return result.button.accept;
}
