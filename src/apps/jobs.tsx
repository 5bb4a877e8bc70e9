/**
 * App sessions in the Jobs panel: a session's job row says it is an app
 * session (its name as the Launcher card says it, its state, its time left)
 * with Open and End, as the session's tab does.
 */
import { ServerConnection } from '@jupyterlab/services';
import type { TranslationBundle } from '@jupyterlab/translation';
import { Signal } from '@lumino/signaling';
import React from 'react';
import type { ISession } from './api';
import { formatTimeLeft, listSessions, stateText } from './api';

/**
 * The job name every session's job has (`rpc-<app>`, services/sessions.py).
 */
export const SESSION_JOB_PREFIX = 'rpc-';

/**
 * The command that opens a session's tab (src/apps/plugin.tsx).
 */
export const OPEN_SESSION = 'jupyter-rpc:open-app-session';

/**
 * The sessions by their jobs, asked from the server only when a job that may
 * be a session's appears, and otherwise at most every `interval` ms while such
 * jobs are listed (each listing asks the scheduler about every session).
 */
export class JobSessions {
  constructor(
    private _settings: () => ServerConnection.ISettings,
    readonly interval = 15000
  ) {}

  /** Emitted when the sessions were read again. */
  readonly changed = new Signal<this, void>(this);

  /** The session whose job is `jobId` on `cluster`, if it is one. */
  find(cluster: string, jobId: string): ISession | undefined {
    return this._byJob.get(`${cluster}\n${jobId}`);
  }

  /**
   * The jobs a panel lists now: read the sessions again if one of them may be a
   * session's job not known yet, or the last reading is older than `interval`.
   */
  noteJobs(
    cluster: string,
    jobs: ReadonlyArray<{ id: string; name: string }>
  ): Promise<void> {
    const candidates = jobs.filter(j => j.name.startsWith(SESSION_JOB_PREFIX));
    if (!candidates.length) {
      return Promise.resolve();
    }
    const keys = candidates.map(j => `${cluster}\n${j.id}`);
    const unknown = keys.some(key => !this._asked.has(key));
    keys.forEach(key => this._pending.add(key));
    const stale = Date.now() - this._readAt > this.interval;
    return unknown || stale ? this.refresh() : Promise.resolve();
  }

  /** Read the sessions now (one reading at a time). */
  refresh(): Promise<void> {
    if (!this._reading) {
      this._reading = this._read().finally(() => {
        this._reading = null;
      });
    }
    return this._reading;
  }

  private async _read(): Promise<void> {
    const asked = [...this._pending];
    this._pending.clear();
    let sessions: ISession[];
    try {
      sessions = await listSessions(this._settings());
    } catch (error) {
      console.warn('jupyter-rpc: the app sessions cannot be listed:', error);
      this._readAt = Date.now();
      return;
    }
    this._byJob.clear();
    for (const s of sessions) {
      this._byJob.set(`${s.cluster}\n${s.job_id}`, s);
    }
    // a job found to be no session's is not asked about again before `interval`
    asked.forEach(key => this._asked.add(key));
    this._readAt = Date.now();
    this.changed.emit();
  }

  private _byJob = new Map<string, ISession>();
  private _asked = new Set<string>();
  private _pending = new Set<string>();
  private _readAt = 0;
  private _reading: Promise<void> | null = null;
}

let shared: JobSessions | null = null;

/**
 * The sessions index every Jobs panel of this page shares.
 */
export function jobSessions(
  settings: ServerConnection.ISettings | undefined
): JobSessions {
  if (!shared) {
    shared = new JobSessions(() => settings ?? ServerConnection.makeSettings());
  }
  return shared;
}

/**
 * The classes of JupyterLab's small styled button (ui-components' `Button`,
 * which this module does without so that it loads outside a browser).
 */
const BUTTON = 'jp-Button jp-mod-styled jp-mod-small';

/**
 * What a session's job row says: the app's name, its state and time left,
 * and Open (its tab) and End (its job cancelled).
 */
export function SessionJobBadge(props: {
  session: ISession;
  trans: TranslationBundle;
  onOpen: (session: ISession) => void;
  onEnd: (session: ISession) => void;
  /** Why End is disabled (a missing permission); undefined: enabled. */
  endDisabled?: string;
  /** The Launcher cards' icon of apps. */
  icon?: React.ReactNode;
}): JSX.Element {
  const { session, trans, onOpen, onEnd, endDisabled, icon } = props;
  const left =
    session.state === 'running' ? formatTimeLeft(session.time_left) : '';
  const state = stateText(session.state, trans);
  return (
    <span
      className="jp-rpc-JobSession"
      data-session-id={session.id}
      title={trans.__(
        'App session: %1 on %2 (%3)',
        session.display_name,
        session.cluster,
        state
      )}
      onClick={e => e.stopPropagation()}
    >
      <span className="jp-rpc-JobSession-head">
        {icon}
        <span className="jp-rpc-JobSession-app">{session.display_name}</span>
      </span>
      <span className="jp-rpc-JobSession-status">
        <span
          className={`jp-rpc-JobSession-state jp-rpc-Session-${session.state}`}
        >
          {state}
        </span>
        {left && (
          <span className="jp-rpc-JobSession-left">
            {trans.__('%1 left', left)}
          </span>
        )}
      </span>
      {session.state !== 'ended' && (
        <span className="jp-rpc-JobSession-actions">
          <button
            type="button"
            className={`${BUTTON} jp-rpc-JobSession-open`}
            onClick={() => onOpen(session)}
          >
            {trans.__('Open')}
          </button>
          <button
            type="button"
            className={`${BUTTON} jp-rpc-JobSession-end`}
            disabled={endDisabled !== undefined}
            title={endDisabled}
            onClick={() => onEnd(session)}
          >
            {trans.__('End')}
          </button>
        </span>
      )}
    </span>
  );
}
