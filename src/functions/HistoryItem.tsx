import type { TranslationBundle } from '@jupyterlab/translation';
import {
  addBelowIcon,
  checkIcon,
  closeIcon,
  copyIcon,
  launchIcon,
  stopIcon,
  ToolbarButtonComponent
} from '@jupyterlab/ui-components';
import React from 'react';
import { formatCallDuration } from '../shared/duration';
import type { ICall, IFunctionSpec } from './api';
import { isFinished } from './api';
import { callSnippet, copyCode } from './actions';
import { stateLabel, summarizeArguments } from './format';

/**
 * Properties of {@link HistoryItem}.
 */
export interface IHistoryItemProps {
  call: ICall;
  spec: IFunctionSpec | undefined;
  /** Whether the call is the one shown in the call section. */
  current: boolean;
  onRestore: () => void;
  insertCode: ((code: string) => void) | null;
  /** Opens the call in a main-area tab (none: no such button). */
  onOpen?: (() => void) | null;
  trans: TranslationBundle;
}

/**
 * One past call: function, arguments, duration and outcome. Activating it
 * shows the call and restores its arguments into the form.
 */
export function HistoryItem(props: IHistoryItemProps): JSX.Element {
  const { call, spec, current, onRestore, insertCode, trans } = props;
  const args = summarizeArguments(call.arguments, spec);
  const outcome = stateLabel(call.state, trans);
  const duration =
    call.duration !== null && call.duration !== undefined
      ? formatCallDuration(call.duration)
      : '';
  const time = new Date(call.created).toLocaleTimeString();
  return (
    <li
      className={`jp-rpc-HistoryItem jp-rpc-mod-${call.state}${current ? ' jp-mod-selected' : ''}`}
      data-call={call.id}
    >
      <button
        type="button"
        className="jp-rpc-HistoryItem-main"
        onClick={onRestore}
        title={trans.__('Show this call and restore its arguments')}
        aria-label={trans.__(
          '%1 (%2), %3: restore its arguments',
          call.function,
          args,
          outcome
        )}
      >
        <span className="jp-rpc-HistoryItem-line">
          <OutcomeIcon call={call} />
          <span className="jp-rpc-HistoryItem-name">{call.function}</span>
          <span className="jp-rpc-HistoryItem-outcome">{outcome}</span>
        </span>
        <span className="jp-rpc-HistoryItem-args">{args || '—'}</span>
        <span className="jp-rpc-HistoryItem-meta">
          {[time, duration].filter(Boolean).join(' · ')}
        </span>
      </button>
      <span className="jp-rpc-HistoryItem-actions">
        {props.onOpen && (
          <ToolbarButtonComponent
            icon={launchIcon}
            tooltip={trans.__('Open in the main area')}
            onClick={props.onOpen}
          />
        )}
        <ToolbarButtonComponent
          icon={copyIcon}
          tooltip={trans.__('Copy as Python')}
          onClick={() => copyCode(callSnippet(call, spec), trans)}
        />
        <ToolbarButtonComponent
          icon={addBelowIcon}
          tooltip={
            insertCode
              ? trans.__('Insert into notebook')
              : trans.__('Open a notebook to insert the code')
          }
          enabled={!!insertCode}
          onClick={() => insertCode?.(callSnippet(call, spec))}
        />
      </span>
    </li>
  );
}

/**
 * A status icon for a call's outcome.
 */
function OutcomeIcon(props: { call: ICall }): JSX.Element {
  const { call } = props;
  if (!isFinished(call.state)) {
    return <span className="jp-rpc-StatusIcon jp-rpc-Spinner" />;
  }
  const icon =
    call.state === 'succeeded'
      ? checkIcon
      : call.state === 'cancelled'
        ? stopIcon
        : closeIcon;
  return (
    <icon.react
      tag="span"
      className={`jp-rpc-StatusIcon jp-rpc-mod-${call.state}`}
      elementSize="small"
    />
  );
}
