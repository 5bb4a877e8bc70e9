import type { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';
import { formatCallDuration } from '../shared/duration';
import { useNow } from '../shared/hooks';
import type { ICall } from './api';
import { isFinished } from './api';
import { callSeconds } from './format';

/**
 * Properties of {@link CallStatusLine}.
 */
export interface ICallStatusLineProps {
  call: ICall;
  /** When this browser started the call. */
  startedAt: number | undefined;
  trans: TranslationBundle;
}

/**
 * "Running · 0:03", "Succeeded in 0.12 s", "Cancelled after 2.1 s".
 */
export function CallStatusLine(props: ICallStatusLineProps): JSX.Element {
  const { call, startedAt, trans } = props;
  const finished = isFinished(call.state);
  const now = useNow(!finished);
  const seconds = callSeconds(call, startedAt, now);
  const time = seconds === null ? '' : formatCallDuration(seconds);
  let text: string;
  switch (call.state) {
    case 'pending':
      text = trans.__('Waiting for the backend… %1', time);
      break;
    case 'running':
      text = trans.__('Running… %1', time);
      break;
    case 'succeeded':
      text = trans.__('Succeeded in %1', time);
      break;
    case 'failed':
      text = trans.__('Failed after %1', time);
      break;
    case 'cancelled':
      text = trans.__('Cancelled after %1', time);
      break;
  }
  return (
    <span
      className={`jp-rpc-CallStatus jp-rpc-mod-${call.state}`}
      data-state={call.state}
      role="status"
    >
      {!finished && <span className="jp-rpc-Spinner" aria-hidden="true" />}
      {text.trim()}
    </span>
  );
}
