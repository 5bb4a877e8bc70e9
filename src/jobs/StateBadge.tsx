import type { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';
import type { ClusterState } from '../clusters/api';
import type { JobState } from './states';

/**
 * The word shown for a job state.
 */
export function jobStateLabel(
  state: JobState,
  trans: TranslationBundle
): string {
  const labels: Record<JobState, string> = {
    pending: trans.__('pending'),
    held: trans.__('held'),
    running: trans.__('running'),
    completing: trans.__('completing'),
    suspended: trans.__('suspended'),
    completed: trans.__('completed'),
    failed: trans.__('failed'),
    cancelled: trans.__('cancelled'),
    timeout: trans.__('timeout'),
    unknown: trans.__('unknown')
  };
  return labels[state] ?? state;
}

/**
 * A coloured badge with a job's state (colour and text, so it reads
 * without colour too).
 */
export function JobStateBadge(props: {
  state: JobState;
  raw?: string;
  trans: TranslationBundle;
}): JSX.Element {
  const { state, raw, trans } = props;
  const label = jobStateLabel(state, trans);
  return (
    <span
      className={`jp-rpc-JobState jp-rpc-mod-${state}`}
      title={raw ? trans.__('%1 (scheduler: %2)', label, raw) : label}
    >
      {label}
    </span>
  );
}

/**
 * The word shown for a cluster's connection state.
 */
export function clusterStateLabel(
  state: ClusterState,
  trans: TranslationBundle
): string {
  const labels: Record<ClusterState, string> = {
    idle: trans.__('not connected'),
    connecting: trans.__('connecting'),
    connected: trans.__('connected'),
    auth_required: trans.__('sign-in needed'),
    error: trans.__('error')
  };
  return labels[state] ?? state;
}
