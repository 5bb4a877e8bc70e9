import type { TranslationBundle } from '@jupyterlab/translation';
import { addBelowIcon, copyIcon } from '@jupyterlab/ui-components';
import React from 'react';
import { copyCode } from './actions';

/**
 * Properties of {@link PythonCode}.
 */
export interface IPythonCodeProps {
  code: string;
  /** Inserts the code into the current notebook; `null` without a notebook. */
  insertCode: ((code: string) => void) | null;
  trans: TranslationBundle;
}

/**
 * The same call as notebook code, collapsed by default, with Copy and Insert.
 */
export function PythonCode(props: IPythonCodeProps): JSX.Element {
  const { code, insertCode, trans } = props;
  return (
    <details className="jp-rpc-PythonCode">
      <summary>{trans.__('Python code for this call')}</summary>
      <pre className="jp-rpc-PythonCode-source">{code}</pre>
      <div className="jp-rpc-PythonCode-actions">
        <button
          type="button"
          className="jp-Button jp-mod-styled jp-mod-minimal jp-rpc-TextButton"
          onClick={() => copyCode(code, trans)}
        >
          <copyIcon.react tag="span" elementSize="small" />
          {trans.__('Copy as Python')}
        </button>
        <button
          type="button"
          className="jp-Button jp-mod-styled jp-mod-minimal jp-rpc-TextButton"
          disabled={!insertCode}
          title={
            insertCode
              ? trans.__('Insert a code cell below the active cell')
              : trans.__('Open a notebook to insert the code')
          }
          onClick={() => insertCode?.(code)}
        >
          <addBelowIcon.react tag="span" elementSize="small" />
          {trans.__('Insert into notebook')}
        </button>
      </div>
    </details>
  );
}
