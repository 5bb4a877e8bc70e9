import React from 'react';

/**
 * Properties of {@link ProgressBar}.
 */
export interface IProgressBarProps {
  /** Done fraction in [0, 1]; `null` for an indeterminate bar. */
  fraction: number | null;
  /** Accessible name. */
  label: string;
}

/**
 * A thin progress bar in JupyterLab's brand colour.
 */
export function ProgressBar(props: IProgressBarProps): JSX.Element {
  const { fraction, label } = props;
  const percent =
    fraction === null
      ? null
      : Math.round(Math.min(1, Math.max(0, fraction)) * 100);
  return (
    <div
      className={`jp-rpc-ProgressBar${percent === null ? ' jp-mod-indeterminate' : ''}`}
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={percent ?? undefined}
    >
      <div
        className="jp-rpc-ProgressBar-fill"
        style={percent === null ? undefined : { width: `${percent}%` }}
      />
    </div>
  );
}
