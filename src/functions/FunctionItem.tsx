import React from 'react';
import type { IFunctionSpec } from './api';
import { plainSummary } from './DocText';

/**
 * Properties of {@link FunctionItem}.
 */
export interface IFunctionItemProps {
  spec: IFunctionSpec;
  selected: boolean;
  onSelect: () => void;
}

/**
 * One function of the list: its name and summary; a button, so it is
 * reachable with Tab and selected with Enter or Space.
 */
export function FunctionItem(props: IFunctionItemProps): JSX.Element {
  const { spec, selected, onSelect } = props;
  const summary = plainSummary(spec.summary ?? '');
  return (
    <li className="jp-rpc-FunctionList-entry">
      <button
        type="button"
        className={`jp-rpc-FunctionItem${selected ? ' jp-mod-selected' : ''}`}
        aria-current={selected ? 'true' : undefined}
        data-function={spec.name}
        title={summary || spec.name}
        onClick={onSelect}
      >
        <span className="jp-rpc-FunctionItem-name">{spec.name}</span>
        {summary && (
          <span className="jp-rpc-FunctionItem-summary">{summary}</span>
        )}
      </button>
    </li>
  );
}
