import { errorIcon } from '@jupyterlab/ui-components';
import React from 'react';

/**
 * Properties of {@link ErrorNotice}.
 */
export interface IErrorNoticeProps {
  /** A short headline. */
  title: string;
  /** The message (plain text; never rendered as HTML). */
  message?: string;
  /** More lines (e.g. one per invalid argument). */
  items?: ReadonlyArray<string>;
  /** Small print such as the error code. */
  code?: string;
  /** What the code is ("Error code", translated by the caller). */
  codeLabel?: string;
  /** `error` (default) or `info`. */
  kind?: 'error' | 'info';
  /** An extra class name (for styling and tests). */
  className?: string;
  /** Actions shown below the text (e.g. a button). */
  children?: React.ReactNode;
}

/**
 * A box with an error: headline, message text and optional details.
 */
export function ErrorNotice(props: IErrorNoticeProps): JSX.Element {
  const { title, message, items, code, kind = 'error' } = props;
  return (
    <div
      className={`jp-rpc-ErrorNotice jp-rpc-mod-${kind}${props.className ? ` ${props.className}` : ''}`}
      role={kind === 'error' ? 'alert' : 'status'}
    >
      <div className="jp-rpc-ErrorNotice-title">
        {kind === 'error' && (
          <errorIcon.react
            tag="span"
            className="jp-rpc-ErrorNotice-icon"
            elementSize="normal"
          />
        )}
        <span>{title}</span>
      </div>
      {message && <div className="jp-rpc-ErrorNotice-message">{message}</div>}
      {items && items.length > 0 && (
        <ul className="jp-rpc-ErrorNotice-items">
          {items.map((item, i) => (
            <li key={i}>{item}</li>
          ))}
        </ul>
      )}
      {code && (
        <div className="jp-rpc-ErrorNotice-code">
          {`${props.codeLabel ?? 'Error code'}: ${code}`}
        </div>
      )}
      {props.children && (
        <div className="jp-rpc-ErrorNotice-actions">{props.children}</div>
      )}
    </div>
  );
}
