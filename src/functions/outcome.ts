/**
 * What the result area of a finished call shows (kept apart from React so the
 * choice can be tested without a DOM).
 */
import type { ICall, MimeBundle } from './api';

/**
 * The result area of a `succeeded` call: its rendered result, the reason the
 * server no longer has it (a result over `RPCApp.max_kept_result_size` is kept
 * only until it is read once), or nothing (a call model without its result,
 * such as a listing's).
 */
export type ResultView =
  | { kind: 'result'; display: MimeBundle }
  | { kind: 'dropped'; reason: string }
  | { kind: 'none' };

/**
 * The result view of `call` (`none` unless it succeeded).
 */
export function resultView(call: ICall): ResultView {
  if (call.state !== 'succeeded') {
    return { kind: 'none' };
  }
  if (call.display) {
    return { kind: 'result', display: call.display as MimeBundle };
  }
  if (typeof call.result_dropped === 'string') {
    return { kind: 'dropped', reason: call.result_dropped };
  }
  return { kind: 'none' };
}
