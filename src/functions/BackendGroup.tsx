import type { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';
import type { IBackend, IFunctionSpec } from './api';
import type { IFunctionsState } from './tokens';
import { ErrorNotice } from './ErrorNotice';
import { FunctionItem } from './FunctionItem';
import type { ISelection } from './model';
import { StateBadge } from './StateBadge';

/**
 * Properties of {@link BackendGroup}.
 */
export interface IBackendGroupProps {
  backend: IBackend;
  functions: IFunctionsState;
  /** Whether a function passes the filter. */
  filter: (spec: IFunctionSpec) => boolean;
  filtering: boolean;
  selection: ISelection | null;
  onSelect: (selection: ISelection) => void;
  trans: TranslationBundle;
}

/**
 * A backend (name, state badge, error) and its functions.
 */
export function BackendGroup(props: IBackendGroupProps): JSX.Element | null {
  const { backend, functions, filter, filtering, selection, onSelect, trans } =
    props;
  const visible = functions.functions.filter(filter);
  if (filtering && visible.length === 0) {
    return null;
  }
  const label = backend.display_name || backend.name;
  // Listing the functions starts a stopped backend.
  const state =
    backend.state === 'stopped' && functions.status === 'loading'
      ? 'starting'
      : backend.state;
  const failed = backend.state === 'failed' && !!backend.error;
  return (
    <section
      className="jp-rpc-BackendGroup"
      aria-label={trans.__('Backend %1', label)}
      data-backend={backend.name}
    >
      <div className="jp-rpc-BackendGroup-header">
        <span
          className="jp-rpc-BackendGroup-name"
          title={backend.description || backend.name}
        >
          {label}
        </span>
        <StateBadge state={state} trans={trans} />
      </div>
      {failed && (
        <ErrorNotice
          title={trans.__('The backend failed')}
          message={backend.error?.message}
          codeLabel={trans.__('Error code')}
          code={backend.error?.code}
        />
      )}
      {!failed && functions.status === 'error' && functions.error && (
        <ErrorNotice
          title={trans.__('Cannot list the functions')}
          message={functions.error.message}
        />
      )}
      {functions.status === 'loading' && functions.functions.length === 0 && (
        <div className="jp-rpc-muted">{trans.__('Loading functions…')}</div>
      )}
      {functions.status === 'ready' && functions.functions.length === 0 && (
        <div className="jp-rpc-muted">
          {trans.__('This backend offers no functions.')}
        </div>
      )}
      {visible.length > 0 && (
        <ul className="jp-rpc-FunctionList">
          {visible.map(spec => (
            <FunctionItem
              key={spec.name}
              spec={spec}
              selected={
                selection?.backend === backend.name &&
                selection.name === spec.name
              }
              onSelect={() =>
                onSelect({ backend: backend.name, name: spec.name })
              }
            />
          ))}
        </ul>
      )}
    </section>
  );
}
