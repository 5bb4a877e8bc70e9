/**
 * `jupyter-rpc:apps`: interactive apps (docs/apps.md). A Launcher card per
 * app opens its launch form (the cluster, then the form the server gives for
 * it, JupyterLab's FormComponent as the jobs' submit form); Launch submits
 * its job and opens the session's tab, which the layout restorer brings back
 * after a reload. "Interactive App Sessions" in the palette lists them.
 */
import { ILayoutRestorer } from '@jupyterlab/application';
import type {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  MainAreaWidget,
  Notification,
  ReactWidget,
  showDialog,
  WidgetTracker
} from '@jupyterlab/apputils';
import { ILauncher } from '@jupyterlab/launcher';
import type { ServerConnection } from '@jupyterlab/services';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import type { TranslationBundle } from '@jupyterlab/translation';
import { FormComponent, launchIcon } from '@jupyterlab/ui-components';
import type { ReadonlyJSONObject } from '@lumino/coreutils';
import type { RJSFSchema, UiSchema } from '@rjsf/utils';
import React, { useEffect, useRef, useState } from 'react';
import { ClusterSelect } from '../clusters/ClusterSelect';
import { IClustersManager } from '../clusters/tokens';
import { NO_ARGS } from '../shared/commands';
import { errorText } from '../shared/errors';
import { useLabelledFields } from '../shared/formLabels';
import { validator } from '../shared/validator';
import type { IAppInfo, ISession } from './api';
import {
  appForm,
  getSession,
  launchSession,
  listApps,
  listSessions
} from './api';
import type { SessionView } from './session';

/**
 * The command IDs of the apps.
 */
export namespace AppCommandIDs {
  /** `{app}`: the launch form of an app. */
  export const launch = 'jupyter-rpc:launch-app';
  /** `{id}`: show a session's tab (the restorer uses it). */
  export const open = 'jupyter-rpc:open-app-session';
  /** Pick one of the sessions. */
  export const sessions = 'jupyter-rpc:app-sessions';
}

interface ILaunchState {
  cluster: string;
  formData: Record<string, unknown>;
}

/**
 * The launch dialog's body: the cluster and the app's form on it.
 */
class LaunchBody
  extends ReactWidget
  implements Dialog.IBodyWidget<ILaunchState>
{
  constructor(
    private _options: {
      app: IAppInfo;
      clusters: IClustersManager;
      settings: ServerConnection.ISettings;
      translator: ITranslator;
      trans: TranslationBundle;
    }
  ) {
    super();
    this.addClass('jp-rpc-LaunchApp');
    const names = _options.clusters.clusters
      .map(c => c.name)
      .filter(
        n => _options.app.clusters === '*' || _options.app.clusters.includes(n)
      );
    this._state = { cluster: names[0] ?? '', formData: {} };
  }

  getValue(): ILaunchState {
    return this._state;
  }

  render(): JSX.Element {
    return (
      <LaunchForm
        {...this._options}
        initial={this._state}
        onChange={state => {
          this._state = state;
        }}
      />
    );
  }

  private _state: ILaunchState;
}

function LaunchForm(props: {
  app: IAppInfo;
  clusters: IClustersManager;
  settings: ServerConnection.ISettings;
  translator: ITranslator;
  trans: TranslationBundle;
  initial: ILaunchState;
  onChange: (state: ILaunchState) => void;
}): JSX.Element {
  const { app, clusters, settings, translator, trans } = props;
  const [cluster, setCluster] = useState(props.initial.cluster);
  const [formData, setFormData] = useState(props.initial.formData);
  const [schema, setSchema] = useState<RJSFSchema | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    let live = true;
    setSchema(null);
    setError('');
    if (cluster) {
      appForm(app.name, cluster, settings)
        .then(form => live && setSchema(form as RJSFSchema))
        .catch(e => live && setError(errorText(e)));
    }
    return () => {
      live = false;
    };
  }, [app.name, cluster]);
  useEffect(() => props.onChange({ cluster, formData }), [cluster, formData]);
  const allowed = clusters.clusters.filter(
    c => app.clusters === '*' || app.clusters.includes(c.name)
  );
  const uiSchema: UiSchema<ReadonlyJSONObject, RJSFSchema> = {};
  for (const [key, prop] of Object.entries(
    (schema?.properties ?? {}) as Record<string, { hidden?: boolean }>
  )) {
    if (prop.hidden) {
      uiSchema[key] = { 'ui:widget': 'hidden' };
    }
  }
  const formRef = useRef<HTMLDivElement>(null);
  useLabelledFields(formRef);
  return (
    <div ref={formRef}>
      {app.description && (
        <p className="jp-rpc-LaunchApp-description">{app.description}</p>
      )}
      <ClusterSelect
        clusters={allowed}
        value={cluster}
        onChange={setCluster}
        trans={trans}
      />
      {error && <div className="jp-rpc-LaunchApp-error">{error}</div>}
      {schema && (
        <FormComponent
          idPrefix="jp-rpc-app"
          schema={schema}
          uiSchema={uiSchema}
          formData={formData as ReadonlyJSONObject}
          validator={validator}
          noHtml5Validate
          showErrorList={false}
          liveValidate={false}
          onChange={e =>
            setFormData((e.formData ?? {}) as Record<string, unknown>)
          }
          translator={translator}
          compact
          showModifiedFromDefault={false}
        />
      )}
    </div>
  );
}

/**
 * A session's tab (its id kept for the restorer).
 */
class SessionTab extends MainAreaWidget<SessionView> {
  get sessionId(): string {
    return this.content.session.id;
  }
}

/**
 * The apps plugin.
 */
export const appsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-rpc:apps',
  description:
    'Interactive apps on clusters: a Launcher card per app, its launch form, and a tab per session showing the web app through the server’s proxy.',
  autoStart: true,
  requires: [IClustersManager],
  optional: [ITranslator, ILauncher, ILayoutRestorer, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    clusters: IClustersManager,
    translator: ITranslator | null,
    launcher: ILauncher | null,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null
  ): void => {
    const tr = translator ?? nullTranslator;
    const trans = tr.load('jupyter_rpc');
    const tracker = new WidgetTracker<SessionTab>({
      namespace: 'jupyter-rpc-app'
    });
    const settings = (): ServerConnection.ISettings =>
      clusters.serverSettings ?? app.serviceManager.serverSettings;
    const apps = new Map<string, IAppInfo>();

    const show = async (session: ISession): Promise<SessionTab> => {
      const { SessionView, stateText } = await import('./session');
      const open = tracker.find(w => w.sessionId === session.id);
      if (open) {
        app.shell.activateById(open.id);
        return open;
      }
      const content = new SessionView({ session, settings: settings(), trans });
      const tab = new SessionTab({ content });
      tab.id = `jp-rpc-app-${session.id}`;
      tab.title.label = `${session.display_name} (${session.cluster})`;
      tab.title.caption = trans.__(
        '%1 on %2: %3',
        session.display_name,
        session.cluster,
        stateText(session.state, trans)
      );
      tab.title.icon = launchIcon;
      tab.title.closable = true;
      content.changed.connect((_, s) => {
        tab.title.caption = trans.__(
          '%1 on %2: %3',
          s.display_name,
          s.cluster,
          stateText(s.state, trans)
        );
        tab.title.className =
          s.state === 'ended' ? 'jp-rpc-Session-ended-tab' : '';
      });
      app.shell.add(tab, 'main');
      void tracker.add(tab);
      app.shell.activateById(tab.id);
      return tab;
    };

    app.commands.addCommand(AppCommandIDs.launch, {
      label: args => {
        const info = apps.get(String(args.app ?? ''));
        return info ? info.display_name : trans.__('Launch an App');
      },
      caption: args => apps.get(String(args.app ?? ''))?.description ?? '',
      icon: args => (args.isPalette ? undefined : launchIcon),
      describedBy: {
        args: {
          type: 'object',
          properties: { app: { type: 'string', description: 'The app' } },
          required: ['app']
        }
      },
      execute: async args => {
        const info = apps.get(String(args.app ?? ''));
        if (!info) {
          return;
        }
        const result = await showDialog({
          title: trans.__('Launch %1', info.display_name),
          body: new LaunchBody({
            app: info,
            clusters,
            settings: settings(),
            translator: tr,
            trans
          }),
          buttons: [
            Dialog.cancelButton(),
            Dialog.okButton({ label: trans.__('Launch') })
          ]
        });
        if (!result.button.accept || !result.value) {
          return;
        }
        const { cluster, formData } = result.value;
        try {
          const session = await clusters.withConnection(cluster, () =>
            launchSession(info.name, cluster, formData, settings())
          );
          return await show(session);
        } catch (error) {
          Notification.error(
            trans.__(
              '%1 was not launched: %2',
              info.display_name,
              errorText(error)
            ),
            { autoClose: false }
          );
        }
      }
    });

    app.commands.addCommand(AppCommandIDs.open, {
      label: trans.__('Show App Session'),
      describedBy: {
        args: {
          type: 'object',
          properties: { id: { type: 'string', description: 'The session id' } },
          required: ['id']
        }
      },
      execute: async args =>
        show(await getSession(String(args.id ?? ''), settings()))
    });

    app.commands.addCommand(AppCommandIDs.sessions, {
      label: trans.__('Interactive App Sessions'),
      caption: trans.__('Open or end a launched app'),
      describedBy: NO_ARGS,
      execute: async () => {
        const { stateText } = await import('./session');
        const sessions = (await listSessions(settings())).reverse();
        if (!sessions.length) {
          Notification.info(trans.__('No app has been launched.'));
          return;
        }
        const labels = sessions.map(
          s =>
            `${s.display_name} on ${s.cluster} (${stateText(s.state, trans)}, job ${s.job_id})`
        );
        const picked = await showDialog({
          title: trans.__('Interactive App Sessions'),
          body: new SessionPicker(labels),
          buttons: [
            Dialog.cancelButton(),
            Dialog.okButton({ label: trans.__('Open') })
          ]
        });
        if (picked.button.accept && picked.value !== null) {
          return show(sessions[picked.value as number]);
        }
      }
    });
    palette?.addItem({
      command: AppCommandIDs.sessions,
      category: trans.__('Interactive Apps')
    });

    if (restorer) {
      void restorer.restore(tracker, {
        command: AppCommandIDs.open,
        args: w => ({ id: w.sessionId }),
        name: w => w.sessionId
      });
    }

    void listApps(settings())
      .then(list => {
        list.forEach((info, rank) => {
          apps.set(info.name, info);
          launcher?.add({
            command: AppCommandIDs.launch,
            args: { app: info.name },
            category: trans.__('Interactive Apps'),
            rank
          });
          palette?.addItem({
            command: AppCommandIDs.launch,
            args: { app: info.name, isPalette: true },
            category: trans.__('Interactive Apps')
          });
        });
      })
      .catch(error => console.warn('jupyter-rpc: no interactive apps:', error));
  }
};

/**
 * A list of sessions to pick one from.
 */
class SessionPicker
  extends ReactWidget
  implements Dialog.IBodyWidget<number | null>
{
  constructor(private _labels: string[]) {
    super();
  }

  getValue(): number | null {
    return this._picked;
  }

  render(): JSX.Element {
    return (
      <select
        className="jp-rpc-SessionPicker"
        size={Math.min(10, this._labels.length)}
        defaultValue="0"
        onChange={e => {
          this._picked = Number(e.target.value);
        }}
      >
        {this._labels.map((label, i) => (
          <option key={i} value={i}>
            {label}
          </option>
        ))}
      </select>
    );
  }

  private _picked: number | null = 0;
}

export default [appsPlugin];
