import { Dialog, showDialog } from '@jupyterlab/apputils';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import type { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { JSONExt, UUID } from '@lumino/coreutils';
import type { JSONObject } from '@lumino/coreutils';
import type { RJSFValidationError } from '@rjsf/utils';
import React, { useEffect, useMemo, useRef } from 'react';
import { RPCRequestError } from '../shared/errors';
import { useSignals } from '../shared/hooks';
import { missingPermissionText, usePermissions } from '../shared/permissions';
import { Button, launchIcon } from '@jupyterlab/ui-components';
import { wideKind } from '../results/wide';
import { isFinished } from './api';
import type { IFunctionSpec, MimeBundle } from './api';
import {
  errorSchemaFromPaths,
  finalizeArguments,
  prepareSchema
} from './schema';
import type { IBackendsManager, ICallsManager } from './tokens';
import { callSnippet } from './actions';
import { CallActions } from './CallActions';
import { CallForm } from './CallForm';
import { CallOutcome } from './CallOutcome';
import { CallStatusLine } from './CallStatusLine';
import { ErrorNotice } from './ErrorNotice';
import { pathMessage } from './format';
import { FunctionHeader } from './FunctionHeader';
import type { FunctionsPanelModel, ISelection } from './model';
import { PythonCode } from './PythonCode';
import type { IRemotePathContext } from './RemotePathWidget';

/**
 * Properties of {@link FunctionCall}.
 */
export interface IFunctionCallProps {
  model: FunctionsPanelModel;
  backends: IBackendsManager;
  calls: ICallsManager;
  rendermime: IRenderMimeRegistry;
  translator: ITranslator;
  trans: TranslationBundle;
  /** What path fields browse the clusters with (none: plain text fields). */
  remotePaths?: IRemotePathContext | null;
}

/**
 * The selected function: docstring, form, Run/Cancel, progress and result.
 */
export function FunctionCall(props: IFunctionCallProps): JSX.Element {
  const { model, backends, trans } = props;
  useSignals(model.stateChanged, backends.changed, props.calls.changed);
  const selection = model.selection;
  const spec = selection
    ? backends.getFunction(selection.backend, selection.name)
    : undefined;
  if (!selection) {
    return (
      <div className="jp-rpc-FunctionCall jp-rpc-mod-empty">
        <p className="jp-rpc-muted">
          {trans.__('Select a function above to see what it does and call it.')}
        </p>
      </div>
    );
  }
  if (!spec) {
    return (
      <div className="jp-rpc-FunctionCall jp-rpc-mod-empty">
        <p className="jp-rpc-muted">
          {trans.__('%1 is not available (yet).', selection.name)}
        </p>
      </div>
    );
  }
  return (
    <SelectedFunction
      {...props}
      key={`${selection.backend}\u0000${selection.name}`}
      selection={selection}
      spec={spec}
    />
  );
}

/**
 * {@link FunctionCall} once a known function is selected.
 */
function SelectedFunction(
  props: IFunctionCallProps & { selection: ISelection; spec: IFunctionSpec }
): JSX.Element {
  const { model, calls, selection, spec, trans, translator } = props;
  const formId = useMemo(() => `jp-rpc-form-${UUID.uuid4()}`, []);
  const prepared = useMemo(
    () =>
      prepareSchema(spec.schema, {
        methodTitle:
          spec.kind === 'method'
            ? trans.__('Arguments of %1', spec.method ?? '')
            : undefined
      }),
    [spec, trans]
  );
  const draft = model.draft(selection);
  const call = draft.callId ? calls.get(draft.callId) : undefined;
  const running = !!call && !isFinished(call.state);
  const actionsRef = useRef<HTMLDivElement>(null);
  const finished = !!call && isFinished(call.state);
  // A new call, or its result: bring the status and what follows into view.
  useEffect(() => {
    if (call && actionsRef.current) {
      Private.revealBelow(actionsRef.current);
    }
    // A call that failed because of its backend changes the backend's state.
    if (call?.error?.code.startsWith('backend.')) {
      void props.backends.refreshBackend(call.backend);
    }
    // A call from the server's listing (after a reload) comes without its
    // result: fetch it.
    if (
      call?.state === 'succeeded' &&
      !call.display &&
      typeof call.result_dropped !== 'string'
    ) {
      void props.calls.load(call.id).catch(() => undefined);
    }
    // A wide result of a call run here opens in the main area by itself.
    if (
      call?.state === 'succeeded' &&
      model.openResult &&
      wideKind(call.display as MimeBundle | null) &&
      model.takeStarted(call.id)
    ) {
      model.openResult(call.id);
    }
  }, [call?.id, finished]);
  const openResult = model.openResult;

  const denied = usePermissions().execute
    ? null
    : missingPermissionText('execute', trans);

  const run = async (formData: Record<string, unknown>): Promise<void> => {
    if (denied !== null) {
      return; // Ctrl+Enter submits the form even with Run disabled
    }
    model.updateDraft(selection, {
      formData,
      submitted: true,
      starting: true,
      problems: [],
      problemCode: null,
      extraErrors: null,
      requestError: null
    });
    const timeout = model.settings.defaultTimeout;
    try {
      const started = await calls.start(selection.backend, {
        function: spec.name,
        arguments: finalizeArguments(formData, prepared.nullPaths),
        ...(timeout > 0 ? { timeout } : {})
      });
      model.markStarted(started.id);
      model.updateDraft(selection, { starting: false, callId: started.id });
    } catch (reason) {
      if (
        reason instanceof RPCRequestError &&
        reason.code === 'request.schema'
      ) {
        const errors = reason.details?.errors ?? [];
        model.updateDraft(selection, {
          starting: false,
          extraErrors: errorSchemaFromPaths(errors),
          problems: errors.length
            ? errors.map(e => pathMessage(e.path ?? [], e.message))
            : [reason.message],
          problemCode: reason.code
        });
      } else {
        model.updateDraft(selection, {
          starting: false,
          requestError:
            reason instanceof Error ? reason : new Error(String(reason))
        });
      }
    }
  };

  const onError = (errors: RJSFValidationError[]): void => {
    model.updateDraft(selection, {
      submitted: true,
      // An ended call's result is not what these arguments give: it leaves the
      // view (it stays in the history) rather than read as this run's. A call
      // still running stays, with its Cancel.
      ...(finished ? { callId: null } : {}),
      problems: errors.map(e =>
        pathMessage(
          (e.property ?? '').split('.').filter(Boolean),
          e.message ?? e.stack
        )
      ),
      problemCode: [...new Set(errors.map(e => e.name).filter(Boolean))].join(
        ', '
      )
    });
  };

  const cancel = async (): Promise<void> => {
    if (!call) {
      return;
    }
    if (model.settings.confirmCancel) {
      const answer = await showDialog({
        title: trans.__('Cancel the call?'),
        body: trans.__('%1 is still running. Cancel it?', spec.name),
        buttons: [
          Dialog.cancelButton({ label: trans.__('Keep running') }),
          Dialog.warnButton({ label: trans.__('Cancel call') })
        ]
      });
      if (!answer.button.accept) {
        return;
      }
    }
    try {
      await calls.cancel(call.id);
    } catch (reason) {
      model.updateDraft(selection, {
        requestError:
          reason instanceof Error ? reason : new Error(String(reason))
      });
    }
  };

  const serverRejected =
    draft.extraErrors !== null && draft.problems.length > 0;
  return (
    <div className="jp-rpc-FunctionCall">
      <FunctionHeader
        backend={selection.backend}
        spec={spec}
        trans={trans}
        rendermime={props.rendermime}
      />
      <CallForm
        key={draft.revision}
        formId={formId}
        rendermime={props.rendermime}
        prepared={prepared}
        formData={draft.formData}
        liveValidate={draft.submitted}
        extraErrors={draft.extraErrors}
        onChange={formData => {
          if (
            JSONExt.deepEqual(
              formData as JSONObject,
              draft.formData as JSONObject
            )
          ) {
            return;
          }
          // The server's errors are about the data it saw: drop them on edit.
          model.updateDraft(selection, {
            formData,
            ...(draft.extraErrors ? { extraErrors: null } : {})
          });
        }}
        onSubmit={formData => void run(formData)}
        onError={onError}
        translator={translator}
        remotePaths={props.remotePaths}
      />
      {draft.problems.length > 0 && (
        <ErrorNotice
          title={
            serverRejected
              ? trans.__('The backend rejected these arguments')
              : trans.__('Please correct the highlighted arguments')
          }
          items={draft.problems}
          codeLabel={
            serverRejected ? trans.__('Error code') : trans.__('Checks failed')
          }
          code={draft.problemCode ?? undefined}
        />
      )}
      {draft.requestError && (
        <ErrorNotice
          title={trans.__('The request failed')}
          message={draft.requestError.message}
          codeLabel={trans.__('Error code')}
          code={
            draft.requestError instanceof RPCRequestError
              ? draft.requestError.code
              : undefined
          }
        />
      )}
      <div ref={actionsRef} />
      <CallActions
        formId={formId}
        busy={running || draft.starting}
        denied={denied}
        onCancel={running ? () => void cancel() : null}
        trans={trans}
      >
        {draft.starting && !running ? (
          <span className="jp-rpc-CallStatus" role="status">
            <span className="jp-rpc-Spinner" aria-hidden="true" />
            {trans.__('Starting…')}
          </span>
        ) : call ? (
          <CallStatusLine
            call={call}
            startedAt={calls.startedAt(call.id)}
            trans={trans}
          />
        ) : null}
      </CallActions>
      {call && (
        <div className="jp-rpc-FunctionCall-outcome">
          <CallOutcome
            call={call}
            rendermime={props.rendermime}
            trans={trans}
            formId={formId}
            busy={running || draft.starting}
            denied={denied}
            onOpen={openResult ? () => openResult(call.id) : null}
          />
          {openResult &&
            !(
              call.state === 'succeeded' &&
              wideKind(call.display as MimeBundle | null)
            ) && (
              <Button
                type="button"
                className="jp-mod-styled jp-rpc-OpenResultButton"
                onClick={() => openResult(call.id)}
                title={trans.__('Show this call in a main-area tab')}
              >
                <launchIcon.react tag="span" elementSize="small" />
                {trans.__('Open in a tab')}
              </Button>
            )}
          <PythonCode
            code={callSnippet(call, spec)}
            insertCode={model.insertCode}
            trans={trans}
          />
        </div>
      )}
    </div>
  );
}

/**
 * A namespace for private helpers.
 */
namespace Private {
  /**
   * Scroll the panel section so that `anchor` and what follows it show (only
   * the section scrolls, never the application's layout).
   */
  export function revealBelow(anchor: HTMLElement): void {
    const section = anchor.closest('.jp-rpc-FunctionsPanel-section');
    if (!(section instanceof HTMLElement)) {
      return;
    }
    const top =
      anchor.getBoundingClientRect().top -
      section.getBoundingClientRect().top +
      section.scrollTop;
    const visibleBottom = section.scrollTop + section.clientHeight;
    if (top < section.scrollTop || top > visibleBottom - 120) {
      section.scrollTo({ top: Math.max(0, top - 8), behavior: 'smooth' });
    }
  }
}
