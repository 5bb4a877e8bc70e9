import { ServerConnection } from '@jupyterlab/services';
import { errorText, hasCode, RPCRequestError } from '../errors';

/**
 * The error of a non-2xx answer, read as a request reads it.
 */
function answer(
  status: number,
  statusText: string,
  body: string
): Promise<RPCRequestError> {
  return RPCRequestError.fromResponse(
    new Response(body, { status, statusText })
  );
}

describe('errorText', () => {
  it("shows the server's message of an error answer", async () => {
    const error = await answer(
      404,
      'Not Found',
      JSON.stringify({
        message: "No cluster 'x'",
        reason: 'Not Found',
        code: 'cluster.not_found'
      })
    );
    expect(errorText(error)).toBe("No cluster 'x'");
    expect(error.code).toBe('cluster.not_found');
    expect(hasCode(error, 'cluster.not_found')).toBe(true);
  });

  it('shows the status of an answer that is not JSON (a proxy page)', async () => {
    const error = await answer(502, 'Bad Gateway', '<html>bad gateway</html>');
    expect(errorText(error)).toBe('Invalid response: 502 Bad Gateway');
    expect(error.code).toBe('unknown');
  });

  it('shows the status of a JSON answer without a message', async () => {
    const error = await answer(500, 'Internal Server Error', '{}');
    expect(errorText(error)).toBe(
      'Invalid response: 500 Internal Server Error'
    );
  });

  it('shows the message of a network error', () => {
    const error = new ServerConnection.NetworkError(
      new TypeError('Failed to fetch')
    );
    expect(errorText(error)).toBe('Failed to fetch');
  });

  it('shows the message of any other error', () => {
    expect(errorText(new Error('boom'))).toBe('boom');
    expect(errorText(new TypeError('x is undefined'))).toBe('x is undefined');
  });

  it('shows a string as it is, and anything else as text', () => {
    expect(errorText('refused')).toBe('refused');
    expect(errorText(undefined)).toBe('undefined');
    expect(errorText(null)).toBe('null');
    expect(errorText(42)).toBe('42');
  });

  it('tells no code of an error that is not an answer', () => {
    expect(hasCode(new Error('cluster.not_found'), 'cluster.not_found')).toBe(
      false
    );
  });
});
