/**
 * A desktop session's viewer: noVNC (`@novnc/novnc`, bundled, loaded when a
 * desktop is first shown) on the session's websocket, where the server has
 * already logged in to the VNC server (the page never has its password).
 */
import type { ServerConnection } from '@jupyterlab/services';
import type { TranslationBundle } from '@jupyterlab/translation';
import React, { useEffect, useRef, useState } from 'react';
import type { ISession } from './api';

/**
 * The websocket URL of a desktop session (with the token where the settings
 * append it).
 */
export function desktopSocketUrl(
  session: ISession,
  settings: ServerConnection.ISettings
): string {
  const url = new URL(`${session.url}websockify`, settings.wsUrl).href;
  return settings.appendToken && settings.token
    ? `${url}?token=${encodeURIComponent(settings.token)}`
    : url;
}

/**
 * The desktop, scaled to the tab; a click gives it the keyboard.
 */
export function DesktopViewer(props: {
  session: ISession;
  settings: ServerConnection.ISettings;
  trans: TranslationBundle;
}): JSX.Element {
  const { session, settings, trans } = props;
  const screen = useRef<HTMLDivElement>(null);
  const [state, setState] = useState<'connecting' | 'connected' | 'closed'>(
    'connecting'
  );
  useEffect(() => {
    let rfb: { disconnect(): void } | null = null;
    let live = true;
    void import('@novnc/novnc').then(({ default: RFB }) => {
      if (!live || !screen.current) {
        return;
      }
      const viewer = new RFB(
        screen.current,
        desktopSocketUrl(session, settings),
        {
          shared: true
        }
      );
      viewer.scaleViewport = true;
      viewer.background = 'var(--jp-layout-color2)';
      viewer.addEventListener('connect', () => live && setState('connected'));
      viewer.addEventListener('disconnect', () => live && setState('closed'));
      rfb = viewer;
    });
    return () => {
      live = false;
      rfb?.disconnect();
    };
  }, [session.id]);
  return (
    <div className="jp-rpc-Desktop">
      {state !== 'connected' && (
        <div className="jp-rpc-Desktop-status">
          {state === 'connecting'
            ? trans.__('Connecting to the desktop…')
            : trans.__('The desktop connection closed.')}
        </div>
      )}
      <div className="jp-rpc-Desktop-screen" ref={screen} />
    </div>
  );
}
