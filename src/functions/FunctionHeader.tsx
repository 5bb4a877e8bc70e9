import type { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';
import type { IFunctionSpec } from './api';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { DocText } from './DocText';
import { MarkdownDoc } from './MarkdownDoc';

/**
 * Properties of {@link FunctionHeader}.
 */
export interface IFunctionHeaderProps {
  backend: string;
  spec: IFunctionSpec;
  trans: TranslationBundle;
  /** Renders the docstring as Markdown (none: as plain paragraphs). */
  rendermime?: IRenderMimeRegistry | null;
}

/**
 * The function's name and its full docstring.
 */
export function FunctionHeader(props: IFunctionHeaderProps): JSX.Element {
  const { backend, spec, trans } = props;
  const doc = (spec.description || spec.summary || '').trim();
  return (
    <header className="jp-rpc-FunctionHeader">
      <h2 className="jp-rpc-FunctionHeader-name">
        <span className="jp-rpc-FunctionHeader-backend">{backend}.</span>
        <wbr />
        {breakable(spec.name)}
      </h2>
      {spec.kind === 'method' && (
        <div className="jp-rpc-muted">
          {trans.__(
            'A method of the class %1: a new instance is made with the arguments at the top, then %2 is called.',
            spec.class_name ?? '',
            spec.method ?? ''
          )}
        </div>
      )}
      {doc && props.rendermime ? (
        <MarkdownDoc
          className="jp-rpc-FunctionHeader-doc"
          text={doc}
          rendermime={props.rendermime}
        />
      ) : doc ? (
        <DocText className="jp-rpc-FunctionHeader-doc" text={doc} />
      ) : (
        <div className="jp-rpc-muted">{trans.__('No description.')}</div>
      )}
    </header>
  );
}

/**
 * A Python name that may break only after its `_` and `.` (never mid-word).
 */
function breakable(name: string): React.ReactNode[] {
  return name
    .split(/(?<=[_.])/)
    .flatMap((part, i) => (i ? [<wbr key={i} />, part] : [part]));
}
