import type { TranslationBundle } from '@jupyterlab/translation';
import { HTMLSelect } from '@jupyterlab/ui-components';
import React from 'react';
import type { ICluster } from './api';

/**
 * Properties of {@link ClusterSelect}.
 */
export interface IClusterSelectProps {
  /** The clusters to choose from (already filtered by the caller). */
  clusters: ReadonlyArray<ICluster>;
  /** The chosen cluster's name. */
  value: string;
  onChange: (name: string) => void;
  trans: TranslationBundle;
  /** The class of the `<label>` around the word "Cluster" and the select. */
  className?: string;
  /** Keep the word "Cluster" for screen readers only. */
  hideLabel?: boolean;
  /** A first, empty choice shown while no cluster is chosen. */
  placeholder?: string;
}

/**
 * The cluster picker of the Jobs panel, the Remote files panel, the submit
 * dialog and the Browse… dialog: a labelled select of the clusters by their
 * display names.
 */
export function ClusterSelect(props: IClusterSelectProps): JSX.Element {
  const { clusters, value, onChange, trans, className, hideLabel } = props;
  const options = clusters.map(c => ({
    label: c.display_name || c.name,
    value: c.name
  }));
  if (props.placeholder && !value) {
    options.unshift({ label: props.placeholder, value: '' });
  }
  return (
    <label className={className}>
      <span className={hideLabel ? 'jp-rpc-visually-hidden' : undefined}>
        {trans.__('Cluster')}
      </span>
      <HTMLSelect
        aria-label={trans.__('Cluster')}
        value={value}
        disabled={!clusters.length}
        onChange={event => onChange(event.target.value)}
        options={options}
      />
    </label>
  );
}
