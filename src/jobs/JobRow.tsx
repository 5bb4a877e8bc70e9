import React from 'react';
import type { JobsPanelModel } from './model';

/**
 * A table row that selects a job (its detail opens below the table): click,
 * Enter or Space toggles it. The queue and the history share it.
 */
export function SelectableJobRow(props: {
  model: JobsPanelModel;
  jobId: string;
  className?: string;
  children: React.ReactNode;
}): JSX.Element {
  const { model, jobId, className, children } = props;
  const selected = model.selected === jobId;
  const select = (): void => {
    model.selected = selected ? '' : jobId;
  };
  return (
    <tr
      className={`jp-rpc-JobsTable-row${className ? ` ${className}` : ''}${selected ? ' jp-mod-selected' : ''}`}
      aria-selected={selected}
      tabIndex={0}
      data-job-id={jobId}
      data-cluster={model.cluster}
      onClick={select}
      onKeyDown={e => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          select();
        }
      }}
    >
      {children}
    </tr>
  );
}
