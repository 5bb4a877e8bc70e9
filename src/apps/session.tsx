/**
 * A session's main-area tab: its state while it is queued or starting (with
 * the time left and the server's message), then the app itself (a web app in
 * an iframe), "ended" with why once its job ended; End cancels its job.
 */
import { ReactWidget } from '@jupyterlab/apputils';
import type { ServerConnection } from '@jupyterlab/services';
import type { TranslationBundle } from '@jupyterlab/translation';
import { Button } from '@jupyterlab/ui-components';
import { Poll } from '@lumino/polling';
import { Signal } from '@lumino/signaling';
import React from 'react';
import { errorText } from '../shared/errors';
import type { ISession } from './api';
import {
  endSession,
  formatTimeLeft,
  getSession,
  proxyUrl,
  stateText
} from './api';

export { stateText };
import { DesktopViewer } from './desktop';

/**
 * How often a session's state is asked while it is not running (ms), and
 * while it runs (its time left, its end).
 */
export const POLL_STARTING = 1000;
export const POLL_RUNNING = 15000;

/**
 * The content of a session's tab.
 */
export class SessionView extends ReactWidget {
  constructor(
    private _options: {
      session: ISession;
      settings: ServerConnection.ISettings;
      trans: TranslationBundle;
    }
  ) {
    super();
    this.addClass('jp-rpc-Session');
    this.session = _options.session;
    this._poll = new Poll({
      factory: () => this._refresh(),
      frequency: { interval: POLL_STARTING, backoff: false },
      name: `jupyter-rpc:session-${this.session.id}`
    });
  }

  session: ISession;
  readonly changed = new Signal<this, ISession>(this);

  dispose(): void {
    this._poll.dispose();
    super.dispose();
  }

  async end(): Promise<void> {
    try {
      this.session = await endSession(this.session.id, this._options.settings);
      this._error = '';
    } catch (error) {
      this._error = errorText(error);
    }
    this._changed();
  }

  private async _refresh(): Promise<void> {
    try {
      this.session = await getSession(this.session.id, this._options.settings);
      this._error = '';
    } catch (error) {
      this._error = errorText(error);
    }
    this._changed();
  }

  private _changed(): void {
    const state = this.session.state;
    if (state === 'ended') {
      this._poll.stop();
    } else {
      const interval = state === 'running' ? POLL_RUNNING : POLL_STARTING;
      if (this._poll.frequency.interval !== interval) {
        this._poll.frequency = { ...this._poll.frequency, interval };
      }
    }
    this.changed.emit(this.session);
    this.update();
  }

  render(): JSX.Element {
    const { trans, settings } = this._options;
    const s = this.session;
    const left = formatTimeLeft(s.time_left);
    const header = (
      <div className="jp-rpc-Session-bar">
        <span className={`jp-rpc-Session-state jp-rpc-Session-${s.state}`}>
          {stateText(s.state, trans)}
        </span>
        <span className="jp-rpc-Session-where">
          {trans.__('%1 on %2, job %3', s.display_name, s.cluster, s.job_id)}
        </span>
        {left && s.state === 'running' && (
          <span className="jp-rpc-Session-left">
            {trans.__('%1 left', left)}
          </span>
        )}
        {s.state === 'running' && s.kind === 'web' && (
          <a
            className="jp-rpc-Session-newtab"
            href={proxyUrl(s, settings)}
            target="_blank"
            rel="noopener noreferrer"
          >
            {trans.__('Open in a new browser tab')}
          </a>
        )}
        {s.state !== 'ended' && (
          <Button
            small
            className="jp-mod-styled"
            onClick={() => void this.end()}
          >
            {trans.__('End')}
          </Button>
        )}
      </div>
    );
    let body: JSX.Element;
    if (s.state === 'running' && s.kind === 'web') {
      body = (
        <iframe
          className="jp-rpc-Session-frame"
          title={s.display_name}
          src={proxyUrl(s, settings)}
        />
      );
    } else if (s.state === 'running') {
      body = <DesktopViewer session={s} settings={settings} trans={trans} />;
    } else {
      body = (
        <pre className="jp-rpc-Session-message">
          {s.message || stateHint(s.state, trans)}
        </pre>
      );
    }
    return (
      <>
        {header}
        {this._error && (
          <div className="jp-rpc-Session-error">{this._error}</div>
        )}
        {body}
      </>
    );
  }

  private _poll: Poll;
  private _error = '';
}

function stateHint(state: string, trans: TranslationBundle): string {
  switch (state) {
    case 'queued':
      return trans.__('Its job waits for the scheduler.');
    case 'starting':
      return trans.__('Its job runs; the app is starting.');
    default:
      return '';
  }
}
