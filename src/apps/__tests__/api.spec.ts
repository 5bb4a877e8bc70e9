import { formatTimeLeft, proxyUrl } from '../api';
import type { ISession } from '../api';

describe('formatTimeLeft', () => {
  it('says minutes, then hours and minutes', () => {
    expect(formatTimeLeft(null)).toBe('');
    expect(formatTimeLeft(59)).toBe('0 min');
    expect(formatTimeLeft(4 * 60 + 5)).toBe('4 min');
    expect(formatTimeLeft(3600 + 5 * 60)).toBe('1 h 05 min');
    expect(formatTimeLeft(-3)).toBe('0 min');
  });
});

describe('proxyUrl', () => {
  it('is the session path on the server', () => {
    const session = {
      url: '/user/a/jupyter-rpc/sessions/0123456789ab/proxy/'
    } as ISession;
    const settings = { baseUrl: 'https://hub.example.org/user/a/' } as any;
    expect(proxyUrl(session, settings)).toBe(
      'https://hub.example.org/user/a/jupyter-rpc/sessions/0123456789ab/proxy/'
    );
  });
});
