/**
 * A call's result in a main-area tab: which call it is (function, arguments,
 * time, state) above the same outcome the side panel shows (progress while it
 * runs, then the result through rendermime, as a notebook output).
 */
import { MainAreaWidget } from '@jupyterlab/apputils';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import React from 'react';
import { useSignals } from '../shared/hooks';
import type { ICall } from '../functions/api';
import { isFinished } from '../functions/api';
import { CallOutcome } from '../functions/CallOutcome';
import { CallStatusLine } from '../functions/CallStatusLine';
import { ErrorNotice } from '../functions/ErrorNotice';
import { summarizeArguments } from '../functions/format';
import { functionsIcon } from '../functions/icons';
import type { IBackendsManager, ICallsManager } from '../functions/tokens';

/**
 * The content of a {@link ResultPanel}: one call, followed until it ends.
 */
export class ResultView extends ReactWidget {
  constructor(options: ResultView.IOptions) {
    super();
    this.callId = options.callId;
    this._options = options;
    this.addClass('jp-rpc-ResultView');
    this.node.tabIndex = -1;
  }

  /** The call this view shows. */
  readonly callId: string;

  /** The call, once known (`undefined` while it is fetched). */
  get call(): ICall | undefined {
    return this._options.calls.get(this.callId);
  }

  /** Why the call could not be fetched, if it could not. */
  get error(): Error | null {
    return this._error;
  }

  set error(value: Error | null) {
    this._error = value;
    this.update();
  }

  protected render(): JSX.Element {
    return <ResultBody view={this} options={this._options} />;
  }

  private _options: ResultView.IOptions;
  private _error: Error | null = null;
}

/**
 * The namespace for `ResultView` statics.
 */
export namespace ResultView {
  /**
   * Options to create a view.
   */
  export interface IOptions {
    callId: string;
    calls: ICallsManager;
    backends: IBackendsManager;
    rendermime: IRenderMimeRegistry;
    trans: TranslationBundle;
  }
}

/**
 * A main-area tab holding a {@link ResultView}; its title follows the call.
 */
export class ResultPanel extends MainAreaWidget<ResultView> {
  constructor(options: ResultView.IOptions) {
    const content = new ResultView(options);
    super({ content });
    this.addClass('jp-rpc-ResultPanel');
    this.title.icon = functionsIcon;
    this.title.closable = true;
    this._options = options;
    this._sync();
    options.calls.callChanged.connect(this._onCallChanged, this);
    options.calls.changed.connect(this._sync, this);
    void options.calls.load(options.callId).then(
      () => this._sync(),
      reason => {
        content.error =
          reason instanceof Error ? reason : new Error(String(reason));
        this._sync();
      }
    );
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._options.calls.callChanged.disconnect(this._onCallChanged, this);
    this._options.calls.changed.disconnect(this._sync, this);
    super.dispose();
  }

  private _onCallChanged(_: ICallsManager, call: ICall): void {
    if (call.id === this.content.callId) {
      this._sync();
    }
  }

  /**
   * Title and caption from the call: `stations (limit=5)`.
   */
  private _sync(): void {
    if (this.isDisposed) {
      return;
    }
    const { trans } = this._options;
    const call = this.content.call;
    if (!call) {
      this.title.label = this.content.error
        ? trans.__('Call not found')
        : trans.__('Result');
      return;
    }
    const spec = this._options.backends.getFunction(
      call.backend,
      call.function
    );
    const args = summarizeArguments(call.arguments, spec);
    this.title.label = call.function;
    this.title.caption = trans.__(
      '%1(%2) on %3, started %4',
      call.function,
      args,
      call.backend,
      new Date(call.created).toLocaleString()
    );
    this.title.className = `jp-rpc-ResultTab jp-rpc-mod-${call.state}`;
    this.content.node.dataset.function = call.function;
    this.content.node.dataset.call = call.id;
    this.content.update();
  }

  private _options: ResultView.IOptions;
}

/**
 * The view's React body: header and outcome.
 */
function ResultBody(props: {
  view: ResultView;
  options: ResultView.IOptions;
}): JSX.Element {
  const { view, options } = props;
  const { calls, backends, rendermime, trans } = options;
  useSignals(calls.changed, backends.changed);
  const call = view.call;
  if (!call) {
    return view.error ? (
      <ErrorNotice
        title={trans.__('This call is no longer known to the server')}
        message={view.error.message}
      />
    ) : (
      <p className="jp-rpc-muted">{trans.__('Loading the call…')}</p>
    );
  }
  const spec = backends.getFunction(call.backend, call.function);
  const args = summarizeArguments(call.arguments, spec);
  return (
    <>
      <header className="jp-rpc-ResultView-header">
        <h2 className="jp-rpc-ResultView-name">{call.function}</h2>
        <span className="jp-rpc-ResultView-args" title={args}>
          {args ? `(${args})` : '()'}
        </span>
        <span className="jp-rpc-ResultView-meta">
          {trans.__(
            'on %1 · started %2',
            call.backend,
            new Date(call.created).toLocaleString()
          )}
        </span>
        <CallStatusLine
          call={call}
          startedAt={calls.startedAt(call.id)}
          trans={trans}
        />
      </header>
      <div
        className={`jp-rpc-ResultView-body${isFinished(call.state) ? '' : ' jp-rpc-mod-running'}`}
      >
        <CallOutcome call={call} rendermime={rendermime} trans={trans} />
      </div>
    </>
  );
}
