import type { TranslationBundle } from '@jupyterlab/translation';
import { Button, runIcon, stopIcon } from '@jupyterlab/ui-components';
import React from 'react';

/**
 * Properties of {@link CallActions}.
 */
export interface ICallActionsProps {
  /** The form the Run button submits. */
  formId: string;
  /** A call of this form is being started or is running. */
  busy: boolean;
  /**
   * Why the user may not run it (the missing permission), shown beside a
   * disabled Run button; `null` when they may.
   */
  denied?: string | null;
  /** Cancels the running call; `null` when there is nothing to cancel. */
  onCancel: (() => void) | null;
  /** Status text (elapsed time, outcome). */
  children?: React.ReactNode;
  trans: TranslationBundle;
}

/**
 * Run (submits the form; also Ctrl/Cmd+Enter) and Cancel, with the status.
 */
export function CallActions(props: ICallActionsProps): JSX.Element {
  const { formId, busy, onCancel, trans } = props;
  const denied = props.denied ?? null;
  const isMac = /Mac/.test(navigator.platform);
  return (
    <div className="jp-rpc-CallActions">
      <Button
        type="submit"
        form={formId}
        className="jp-mod-styled jp-mod-accept jp-rpc-RunButton"
        disabled={busy || denied !== null}
        title={
          denied ??
          trans.__('Run the function (%1)', isMac ? '⌘ Enter' : 'Ctrl+Enter')
        }
      >
        <runIcon.react tag="span" elementSize="small" />
        {trans.__('Run')}
      </Button>
      {onCancel && (
        <Button
          type="button"
          className="jp-mod-styled jp-mod-warn jp-rpc-CancelButton"
          onClick={onCancel}
        >
          <stopIcon.react tag="span" elementSize="small" />
          {trans.__('Cancel')}
        </Button>
      )}
      {denied !== null && (
        <span className="jp-rpc-PermissionNotice" role="note">
          {denied}
        </span>
      )}
      <span className="jp-rpc-CallActions-status">{props.children}</span>
    </div>
  );
}
