import type { ICall } from '../api';
import { resultView } from '../outcome';

function call(fields: Partial<ICall>): ICall {
  return {
    id: 'c1',
    backend: 'examples',
    function: 'stations',
    arguments: {},
    state: 'succeeded',
    progress: null,
    error: null,
    created: '2026-12-07T02:00:00+00:00',
    started: '2026-12-07T02:00:00+00:00',
    finished: '2026-12-07T02:00:01+00:00',
    duration: 1,
    version: 3,
    ...fields
  };
}

describe('resultView', () => {
  it('shows the result of a succeeded call', () => {
    const display = { 'text/plain': '3' };
    expect(resultView(call({ result: 3, display }))).toEqual({
      kind: 'result',
      display
    });
  });

  it('says why when the server dropped a large result', () => {
    const reason =
      'The result (9.0 MB) was larger than 8.4 MB (RPCApp.max_kept_result_size) and was read once already; run the call again to get it.';
    expect(resultView(call({ result_dropped: reason }))).toEqual({
      kind: 'dropped',
      reason
    });
  });

  it('shows nothing for a call without its result (a listing)', () => {
    expect(resultView(call({}))).toEqual({ kind: 'none' });
  });

  it('shows no result for a call that did not succeed', () => {
    expect(
      resultView(call({ state: 'running', result_dropped: 'gone' }))
    ).toEqual({ kind: 'none' });
  });
});
