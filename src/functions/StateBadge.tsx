import type { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';
import type { BackendState } from './api';

/**
 * Properties of {@link StateBadge}.
 */
export interface IStateBadgeProps {
  state: BackendState;
  trans: TranslationBundle;
}

/**
 * A small coloured badge with a backend's state.
 */
export function StateBadge(props: IStateBadgeProps): JSX.Element {
  const { state, trans } = props;
  const labels: Record<BackendState, string> = {
    stopped: trans.__('stopped'),
    starting: trans.__('starting'),
    running: trans.__('running'),
    failed: trans.__('failed')
  };
  return (
    <span
      className={`jp-rpc-StateBadge jp-rpc-mod-${state}`}
      title={trans.__('Backend state: %1', labels[state] ?? state)}
    >
      {labels[state] ?? state}
    </span>
  );
}
