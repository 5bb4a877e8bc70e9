import type { TranslationBundle } from '@jupyterlab/translation';
import { updateFilterFunction } from '@jupyterlab/ui-components';
import React, { useCallback } from 'react';
import { useSignals } from '../shared/hooks';
import type { IFunctionSpec } from './api';
import type { IBackendsManager } from './tokens';
import { BackendGroup } from './BackendGroup';
import { ErrorNotice } from './ErrorNotice';
import type { FunctionsPanelModel } from './model';

/**
 * Properties of {@link FunctionBrowser}.
 */
export interface IFunctionBrowserProps {
  model: FunctionsPanelModel;
  backends: IBackendsManager;
  trans: TranslationBundle;
}

/**
 * The filter box and the backends with their functions.
 */
export function FunctionBrowser(props: IFunctionBrowserProps): JSX.Element {
  const { model, backends, trans } = props;
  useSignals(model.stateChanged, backends.changed);

  const updateFilter = useCallback(
    (fn: (item: string) => Partial<{ score: number }> | null, query?: string) =>
      model.setFilter(query ?? '', text => fn(text) !== null),
    [model]
  );
  const filter = (spec: IFunctionSpec): boolean =>
    model.filter(`${spec.name} ${spec.summary ?? ''}`);
  const filtering = model.query.trim() !== '';
  const groups = backends.backends.map(backend => (
    <BackendGroup
      key={backend.name}
      backend={backend}
      functions={backends.functions(backend.name)}
      filter={filter}
      filtering={filtering}
      selection={model.selection}
      onSelect={selection => model.select(selection)}
      trans={trans}
    />
  ));
  const anyVisible =
    !filtering ||
    backends.backends.some(b =>
      backends.functions(b.name).functions.some(filter)
    );

  return (
    <div className="jp-rpc-FunctionBrowser">
      <div className="jp-rpc-FunctionBrowser-filter">
        {/* A plain search box: Lab's FilterBox has a clear button without a
            name in its shadow DOM (axe: button-name, critical). */}
        <input
          type="search"
          className="jp-mod-styled jp-rpc-FunctionBrowser-filterInput"
          placeholder={trans.__('Filter functions')}
          aria-label={trans.__('Filter functions')}
          defaultValue={model.query}
          onChange={e =>
            updateFilter(
              updateFilterFunction(e.target.value, false, false),
              e.target.value
            )
          }
        />
      </div>
      {backends.status === 'loading' && backends.backends.length === 0 && (
        <div className="jp-rpc-muted">{trans.__('Loading backends…')}</div>
      )}
      {backends.status === 'error' && backends.error && (
        <ErrorNotice
          title={trans.__('Cannot list the backends')}
          message={backends.error.message}
        />
      )}
      {backends.status === 'ready' && backends.backends.length === 0 && (
        <div className="jp-rpc-muted">
          {trans.__(
            'No backend is configured. Ask your administrator to add one to the server configuration.'
          )}
        </div>
      )}
      {groups}
      {!anyVisible && (
        <div className="jp-rpc-muted">
          {trans.__('No function matches “%1”.', model.query)}
        </div>
      )}
    </div>
  );
}
