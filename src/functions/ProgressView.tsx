import type { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';
import type { IProgressReport } from './api';
import { ProgressBar } from './ProgressBar';
import { finishedChildren, ProgressSteps } from './ProgressSteps';

/**
 * Properties of {@link ProgressView}.
 */
export interface IProgressViewProps {
  /** The call's progress tree; `null` before the first report. */
  progress: IProgressReport | null;
  /** Text while there is no report yet. */
  waitingText: string;
  trans: TranslationBundle;
}

/**
 * A running call's progress: the root message, a bar (finished children /
 * steps; indeterminate when steps are unknown) and the nested steps.
 */
export function ProgressView(props: IProgressViewProps): JSX.Element {
  const { progress, waitingText, trans } = props;
  const steps = progress?.steps ?? 0;
  const done = progress ? finishedChildren(progress) : 0;
  const fraction = steps > 0 ? done / steps : null;
  const message = progress?.step_message || waitingText;
  const children = progress?.children ?? [];
  return (
    <div className="jp-rpc-Progress" aria-live="polite">
      <div className="jp-rpc-Progress-header">
        <span className="jp-rpc-Progress-message">{message}</span>
        {steps > 0 && (
          <span className="jp-rpc-Progress-count">
            {trans.__('%1 of %2', done, steps)}
          </span>
        )}
      </div>
      <ProgressBar fraction={fraction} label={message} />
      {children.length > 0 && <ProgressSteps nodes={children} trans={trans} />}
    </div>
  );
}
