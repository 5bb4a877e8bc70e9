import type { TranslationBundle } from '@jupyterlab/translation';
import {
  checkIcon,
  circleEmptyIcon,
  closeIcon
} from '@jupyterlab/ui-components';
import React from 'react';
import type { IProgressReport } from './api';

/**
 * How many of a node's children are finished.
 */
export function finishedChildren(node: IProgressReport): number {
  return (node.children ?? []).filter(c => c.status !== 'running').length;
}

/**
 * Properties of {@link ProgressSteps}.
 */
export interface IProgressStepsProps {
  nodes: ReadonlyArray<IProgressReport>;
  trans: TranslationBundle;
  /** Show at most this many (the latest) steps per level. */
  limit?: number;
}

/**
 * The steps of a progress tree, nested, each with a status icon.
 */
export function ProgressSteps(props: IProgressStepsProps): JSX.Element {
  const { nodes, trans, limit = 8 } = props;
  const hidden = Math.max(0, nodes.length - limit);
  const shown = nodes.slice(hidden);
  return (
    <ul className="jp-rpc-ProgressSteps">
      {hidden > 0 && (
        <li className="jp-rpc-ProgressSteps-more">
          {trans._n('%1 earlier step', '%1 earlier steps', hidden)}
        </li>
      )}
      {shown.map((node, i) => (
        <li
          key={hidden + i}
          className={`jp-rpc-ProgressStep jp-rpc-mod-${node.status ?? 'unknown'}`}
        >
          <span className="jp-rpc-ProgressStep-row">
            <StatusIcon status={node.status} trans={trans} />
            <span className="jp-rpc-ProgressStep-message">
              {node.step_message}
            </span>
            {(node.steps ?? 0) > 0 && (
              <span className="jp-rpc-ProgressStep-count">
                {finishedChildren(node)}/{node.steps}
              </span>
            )}
          </span>
          {node.children && node.children.length > 0 && (
            <ProgressSteps nodes={node.children} trans={trans} limit={limit} />
          )}
        </li>
      ))}
    </ul>
  );
}

/**
 * An icon for a step status (a spinner while running).
 */
function StatusIcon(props: {
  status: IProgressReport['status'];
  trans: TranslationBundle;
}): JSX.Element {
  const { status, trans } = props;
  if (status === 'success') {
    return (
      <checkIcon.react
        tag="span"
        className="jp-rpc-StatusIcon jp-rpc-mod-success"
        title={trans.__('done')}
        elementSize="small"
      />
    );
  }
  if (status === 'error') {
    return (
      <closeIcon.react
        tag="span"
        className="jp-rpc-StatusIcon jp-rpc-mod-error"
        title={trans.__('failed')}
        elementSize="small"
      />
    );
  }
  if (status === 'running') {
    return (
      <span
        className="jp-rpc-StatusIcon jp-rpc-Spinner"
        title={trans.__('running')}
      />
    );
  }
  return (
    <circleEmptyIcon.react
      tag="span"
      className="jp-rpc-StatusIcon"
      elementSize="small"
    />
  );
}
