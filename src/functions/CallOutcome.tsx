import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import type { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';
import type { IErrorBody } from '../shared/errors';
import type { ICall } from './api';
import { CallResult } from './CallResult';
import { ErrorNotice } from './ErrorNotice';
import { ProgressView } from './ProgressView';

/**
 * Properties of {@link CallOutcome}.
 */
export interface ICallOutcomeProps {
  call: ICall;
  rendermime: IRenderMimeRegistry;
  trans: TranslationBundle;
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
    case 'succeeded':
      return call.display ? (
        <CallResult
          display={call.display}
          rendermime={rendermime}
          label={trans.__('Result of %1', call.function)}
        />
      ) : null;
    case 'failed':
      return (
        <ErrorNotice
          title={failureTitle(call.error, trans)}
          message={call.error?.message ?? ''}
          code={call.error?.code}
        />
      );
    case 'cancelled':
      return (
        <ErrorNotice
          kind="info"
          title={trans.__('The call was cancelled.')}
          message={
            call.error && call.error.code !== 'call.cancelled'
              ? call.error.message
              : undefined
          }
        />
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
