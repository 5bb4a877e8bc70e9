import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import type { TranslationBundle } from '@jupyterlab/translation';
import { Button, launchIcon, runIcon } from '@jupyterlab/ui-components';
import React from 'react';
import type { IErrorBody } from '../shared/errors';
import type { ICall } from './api';
import { CallResult } from './CallResult';
import { ErrorNotice } from './ErrorNotice';
import { resultView } from './outcome';
import { ProgressView } from './ProgressView';
import { wideKind, wideSummary } from '../results/wide';

/**
 * Properties of {@link CallOutcome}.
 */
export interface ICallOutcomeProps {
  call: ICall;
  rendermime: IRenderMimeRegistry;
  trans: TranslationBundle;
  /**
   * The form whose Run button starts this call again (offered where a dropped
   * result would be); none: no such button.
   */
  formId?: string;
  /** A call of the form is being started or is running (Run again disabled). */
  busy?: boolean;
  /** Why the user may not run it (Run again disabled, this its tooltip). */
  denied?: string | null;
  /**
   * Opens the call in a main-area tab: given, a wide result (a table, chart,
   * image; see `wideKind`) shows as a one-line summary with Open instead.
   */
  onOpen?: (() => void) | null;
}

/**
 * What a call shows below the form: its progress while running, its result,
 * or the reason it failed.
 */
export function CallOutcome(props: ICallOutcomeProps): JSX.Element | null {
  const { call, rendermime, trans } = props;
  switch (call.state) {
    case 'pending':
    case 'running':
      return (
        <ProgressView
          progress={call.progress}
          waitingText={
            call.state === 'pending'
              ? trans.__('Waiting for the backend…')
              : trans.__('Running…')
          }
          trans={trans}
        />
      );
    case 'succeeded': {
      const view = resultView(call);
      switch (view.kind) {
        case 'result': {
          const wide = props.onOpen ? wideKind(view.display) : null;
          if (wide && props.onOpen) {
            const onOpen = props.onOpen;
            return (
              <div className="jp-rpc-ResultSummary" role="note">
                <launchIcon.react tag="span" elementSize="small" />
                <span className="jp-rpc-ResultSummary-text">
                  {trans.__(
                    '%1, shown in the main area.',
                    wideSummary(wide, view.display, trans)
                  )}
                </span>
                <Button
                  type="button"
                  className="jp-mod-styled jp-rpc-ResultSummary-open"
                  onClick={onOpen}
                  title={trans.__('Show the result in its tab')}
                >
                  {trans.__('Open')}
                </Button>
              </div>
            );
          }
          return (
            <CallResult
              display={view.display}
              rendermime={rendermime}
              label={trans.__('Result of %1', call.function)}
            />
          );
        }
        case 'dropped':
          // Too large to keep, and read once already (by another reader, or
          // before a reload): say so where the result would be.
          return (
            <ErrorNotice
              kind="info"
              className="jp-rpc-DroppedResult"
              title={trans.__('The result is no longer available')}
              message={view.reason}
            >
              {props.formId && (
                <Button
                  type="submit"
                  form={props.formId}
                  className="jp-mod-styled jp-rpc-RunAgainButton"
                  disabled={props.busy || !!props.denied}
                  title={
                    props.denied ||
                    trans.__('Run the function again to get its result')
                  }
                >
                  <runIcon.react tag="span" elementSize="small" />
                  {trans.__('Run again')}
                </Button>
              )}
            </ErrorNotice>
          );
        case 'none':
          return null;
      }
      return null;
    }
    case 'failed':
      return (
        <ErrorNotice
          title={failureTitle(call.error, trans)}
          message={call.error?.message ?? ''}
          codeLabel={trans.__('Error code')}
          code={call.error?.code}
        />
      );
    case 'cancelled':
      // What it got through before the cancel stays in view, under the notice.
      return (
        <>
          <ErrorNotice
            kind="info"
            title={trans.__('The call was cancelled.')}
            message={
              call.error && call.error.code !== 'call.cancelled'
                ? call.error.message
                : undefined
            }
          />
          {call.progress && (
            <div className="jp-rpc-mod-cancelled">
              <ProgressView
                progress={call.progress}
                waitingText={trans.__('Cancelled')}
                trans={trans}
              />
            </div>
          )}
        </>
      );
  }
}

/**
 * A headline for a failed call, by error code.
 */
function failureTitle(
  error: IErrorBody | null,
  trans: TranslationBundle
): string {
  switch (error?.code) {
    case 'call.remote_error': {
      const type = error.details?.error_type;
      return type
        ? trans.__('The function raised %1', type)
        : trans.__('The function raised an error');
    }
    case 'call.timeout':
      return trans.__('The call took too long and was stopped');
    case 'backend.crashed':
      return trans.__('The backend crashed during the call');
    case 'backend.unavailable':
      return trans.__('The backend is not available');
    case 'call.not_found':
      return trans.__('The server no longer knows this call');
    default:
      return trans.__('The call failed');
  }
}
