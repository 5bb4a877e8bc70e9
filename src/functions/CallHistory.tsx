import type { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';
import { useSignals } from '../shared/hooks';
import { argumentsToFormData, prepareSchema } from './schema';
import type { IBackendsManager, ICallsManager } from './tokens';
import { HistoryItem } from './HistoryItem';
import type { FunctionsPanelModel } from './model';

/**
 * Properties of {@link CallHistory}.
 */
export interface ICallHistoryProps {
  model: FunctionsPanelModel;
  backends: IBackendsManager;
  calls: ICallsManager;
  trans: TranslationBundle;
}

/**
 * This session's calls, newest first.
 */
export function CallHistory(props: ICallHistoryProps): JSX.Element {
  const { model, backends, calls, trans } = props;
  useSignals(calls.changed, model.stateChanged, backends.changed);
  if (calls.calls.length === 0) {
    return (
      <div className="jp-rpc-CallHistory jp-rpc-mod-empty">
        <p className="jp-rpc-muted">
          {trans.__('The calls you make in this session appear here.')}
        </p>
      </div>
    );
  }
  const selection = model.selection;
  const currentId = selection ? model.draft(selection).callId : null;
  return (
    <div className="jp-rpc-CallHistory">
      <ul className="jp-rpc-CallHistory-list" aria-label={trans.__('Calls')}>
        {calls.calls.map(call => {
          const spec = backends.getFunction(call.backend, call.function);
          return (
            <HistoryItem
              key={call.id}
              call={call}
              spec={spec}
              current={call.id === currentId}
              insertCode={model.insertCode}
              onOpen={
                model.openResult ? () => model.openResult?.(call.id) : null
              }
              trans={trans}
              onRestore={() => {
                const nullPaths = spec
                  ? prepareSchema(spec.schema).nullPaths
                  : [];
                model.restore(
                  call,
                  argumentsToFormData(call.arguments, nullPaths)
                );
              }}
            />
          );
        })}
      </ul>
    </div>
  );
}
