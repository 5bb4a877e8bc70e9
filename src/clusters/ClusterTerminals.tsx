import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import {
  closeIcon,
  terminalIcon,
  ToolbarButtonComponent
} from '@jupyterlab/ui-components';
import type { CommandRegistry } from '@lumino/commands';
import React, { useEffect } from 'react';
import { errorText } from '../shared/errors';
import { useSignals } from '../shared/hooks';
import { missingPermissionText, usePermissions } from '../shared/permissions';
import { terminalTitle } from '../terminals/title';
import { ATTACH_TERMINAL } from './terminals';
import type { ClusterTerminals } from './terminals';

/**
 * Properties of {@link ClusterTerminalsList}.
 */
export interface IClusterTerminalsProps {
  terminals: ClusterTerminals;
  /** The cluster's account (the titles say `user@cluster: folder`). */
  user: string;
  commands: CommandRegistry;
  trans: TranslationBundle;
  /** Keep the list current (the view is shown); default true. */
  active?: boolean;
}

/**
 * A cluster's open terminals, each titled as its tab: a click shows it (the
 * tab again, attached to the same shell), the cross ends it after asking.
 * Nothing is shown while the cluster has none.
 */
export function ClusterTerminalsList(
  props: IClusterTerminalsProps
): JSX.Element | null {
  const { terminals, user, commands, trans } = props;
  const active = props.active ?? true;
  useSignals(terminals.changed);
  useEffect(() => {
    if (!active) {
      return;
    }
    const watching = terminals.watch();
    // A terminal opened from anywhere shows here at once.
    const onExecuted = (
      _: CommandRegistry,
      args: CommandRegistry.ICommandExecutedArgs
    ): void => {
      if (
        args.id === 'jupyter-rpc:open-terminal' &&
        args.args.cluster === terminals.cluster
      ) {
        void args.result.then(() => terminals.refresh()).catch(() => undefined);
      }
    };
    commands.commandExecuted.connect(onExecuted);
    return () => {
      watching.dispose();
      commands.commandExecuted.disconnect(onExecuted);
    };
  }, [terminals, commands, active]);
  const may = usePermissions();
  const list = terminals.terminals;
  if (!list.length) {
    return null;
  }
  const cluster = terminals.cluster;
  const noWrite = may.write ? undefined : missingPermissionText('write', trans);
  const noExecute = may.execute
    ? undefined
    : missingPermissionText('execute', trans);

  const end = async (name: string, title: string): Promise<void> => {
    const answer = await showDialog({
      title: trans.__('End this terminal?'),
      body: trans.__(
        'The shell of "%1" on %2 ends, with what runs in it (as when an SSH window closes).',
        title,
        cluster
      ),
      buttons: [
        Dialog.cancelButton(),
        Dialog.warnButton({ label: trans.__('End') })
      ]
    });
    if (!answer.button.accept) {
      return;
    }
    try {
      await terminals.end(name);
    } catch (error) {
      Notification.error(
        trans.__('Cannot end the terminal: %1', errorText(error)),
        { autoClose: 8000 }
      );
    }
  };

  return (
    <section
      className="jp-rpc-ClusterTerminals"
      aria-label={trans.__('Open terminals on %1', cluster)}
    >
      <div className="jp-rpc-ClusterTerminals-header">
        {trans.__('Open terminals (%1)', list.length)}
      </div>
      <ul className="jp-rpc-ClusterTerminals-list">
        {list.map(t => {
          const title = terminalTitle(t.user || user, cluster, t.cwd, t.job);
          return (
            <li
              key={t.name}
              className="jp-rpc-ClusterTerminals-item"
              data-terminal={t.name}
            >
              <button
                className="jp-rpc-ClusterTerminals-open"
                disabled={!may.execute}
                title={noExecute ?? trans.__('Show this terminal')}
                onClick={() =>
                  void commands.execute(ATTACH_TERMINAL, {
                    cluster,
                    name: t.name,
                    cwd: t.cwd
                  })
                }
              >
                <terminalIcon.react tag="span" />
                <span className="jp-rpc-ClusterTerminals-title">{title}</span>
                <span className="jp-rpc-muted">
                  {t.clients
                    ? trans.__('open in a tab')
                    : trans.__('no tab attached')}
                </span>
              </button>
              <ToolbarButtonComponent
                icon={closeIcon}
                tooltip={noWrite ?? trans.__('End %1', title)}
                aria-label={trans.__('End %1', title)}
                enabled={may.write}
                onClick={() => void end(t.name, title)}
              />
            </li>
          );
        })}
      </ul>
    </section>
  );
}
