import { nullTranslator } from '@jupyterlab/translation';
import React from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import type { ISession } from '../api';
import { JobSessions, SessionJobBadge } from '../jobs';
import { json, TestServer } from '../../shared/__tests__/testserver';

const trans = nullTranslator.load('jupyter_rpc');

function session(overrides: Partial<ISession> = {}): ISession {
  return {
    id: '0123456789ab',
    app: 'webapp',
    display_name: 'Web app',
    kind: 'web',
    cluster: 'levante',
    job_id: '4242',
    state: 'running',
    message: '',
    created: 0,
    started: 0,
    time_left: 3900,
    values: {},
    url: '/jupyter-rpc/sessions/0123456789ab/proxy/',
    ...overrides
  } as ISession;
}

describe('SessionJobBadge', () => {
  const render = (s: ISession, endDisabled?: string): string =>
    renderToStaticMarkup(
      React.createElement(SessionJobBadge, {
        session: s,
        trans,
        onOpen: () => undefined,
        onEnd: () => undefined,
        endDisabled
      })
    );

  it('says the app, its state and time left, with Open and End', () => {
    const html = render(session());
    expect(html).toContain('data-session-id="0123456789ab"');
    expect(html).toContain('>Web app<');
    expect(html).toContain('>Running<');
    expect(html).toContain('1 h 05 min left');
    expect(html).toContain('>Open<');
    expect(html).toContain('>End<');
  });

  it('says queued without a time left', () => {
    const html = render(session({ state: 'queued', time_left: null }));
    expect(html).toContain('>Queued<');
    expect(html).not.toContain('left');
    expect(html).toContain('>Open<');
  });

  it('has no Open or End once ended', () => {
    const html = render(session({ state: 'ended', time_left: null }));
    expect(html).toContain('>Ended<');
    expect(html).not.toContain('>Open<');
    expect(html).not.toContain('>End<');
  });

  it('disables End without the permission, saying why', () => {
    const html = render(session(), 'You lack write');
    expect(html).toMatch(
      /disabled=""[^>]*title="You lack write"|title="You lack write"[^>]*disabled=""/
    );
  });
});

describe('JobSessions', () => {
  const server = new TestServer();

  it('finds a session by its job, and asks the server only when needed', async () => {
    server.reply = (req, res) =>
      json(res, 200, {
        sessions: [session(), session({ id: 'ffffffffffff', cluster: 'other' })]
      });
    const index = new JobSessions(() => server.settings(), 60000);
    let changes = 0;
    index.changed.connect(() => changes++);
    // no job named as a session's: nothing asked
    await index.noteJobs('levante', [{ id: '1', name: 'train' }]);
    expect(server.seen.length).toBe(0);
    // a session's job: asked once
    await index.noteJobs('levante', [
      { id: '1', name: 'train' },
      { id: '4242', name: 'rpc-webapp' }
    ]);
    expect(server.seen.map(s => s.url)).toEqual([
      '/lab-base/jupyter-rpc/sessions'
    ]);
    expect(index.find('levante', '4242')?.display_name).toBe('Web app');
    expect(index.find('levante', '1')).toBeUndefined();
    expect(index.find('other', '4242')?.id).toBe('ffffffffffff');
    expect(changes).toBe(1);
    // the same jobs again within the interval: not asked again
    await index.noteJobs('levante', [{ id: '4242', name: 'rpc-webapp' }]);
    expect(server.seen.length).toBe(1);
    // a new job named as a session's (not one yet): asked, once
    await index.noteJobs('levante', [{ id: '77', name: 'rpc-desktop' }]);
    await index.noteJobs('levante', [{ id: '77', name: 'rpc-desktop' }]);
    expect(server.seen.length).toBe(2);
  });
});
